"""The quality-rules registry.

A rule is a documented unit with a stable code, a title, a severity, the record kind it
applies to and, for warnings, an optional tolerance. Its logic is one set-based SELECT over a
submission's stored records, returning one row per failure in FAILURE_COLUMNS order; the
engine turns that into an INSERT ... SELECT, so failures never travel through Python.

The contract of a rule's function: ``sql(ctx: RuleContext) -> (select_sql, params)``, where
``params`` is a mapping of named parameters that ``select_sql`` uses as ``%(name)s`` (a name may
appear any number of times; a literal ``%`` is written ``%%``). SQL assembled from pieces then
needs no care for the order of its parameters. Positional parameters (``%s`` with a list) are
refused with a TypeError. Names starting with RESERVED_PARAM_PREFIX belong to the engine, which
adds its own (the submission, code and severity of each row) to the same mapping; a rule using
one is refused with a ValueError. Both PostgreSQL (psycopg2) and Django's SQLite backend accept
this "pyformat" style.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from collections_app.models import Severity

# Every rule's SELECT yields these columns, in this order; a rule registered with
# other_record=True yields OTHER_RECORD_COLUMN as well, last.
FAILURE_COLUMNS = ("instance_id", "student_id", "line", "husid", "numhus", "field", "value", "message")
OTHER_RECORD_COLUMN = "other_instance_id"
# Parameter names with this prefix are the engine's (see the module docstring).
RESERVED_PARAM_PREFIX = "_"


@dataclass(frozen=True)
class Tolerance:
    """The default for how many failures of a warning are acceptable before it blocks approval;
    liaison may set another per collection (review.models.RuleTolerance), which wins."""

    count: int | None = None
    percent: float | None = None

    def __str__(self):
        return f"{self.percent:g}% of records" if self.percent is not None else f"{self.count} records"


@dataclass(frozen=True)
class RuleContext:
    submission_id: int
    provider_instid: str
    reporting_year: int
    # Year-on-year rules (stage "linking") compare with the previous year's approved submission.
    previous_submission_id: int | None = None


@dataclass(frozen=True)
class Rule:
    code: str
    title: str
    severity: str
    record_kind: str
    applies_to: str  # "student", "instance" or "file": what one failure row points at
    description: str
    sql: Callable[[RuleContext], tuple[str, Mapping[str, object]]]  # (select_sql, named params)
    tolerance: Tolerance | None = None
    stage: str = "rules"  # "rules" (within the submission) or "linking" (year on year)
    other_record: bool = False  # rows name the other year's record (RuleFailure.other_instance)

    @property
    def columns(self) -> tuple[str, ...]:
        return (*FAILURE_COLUMNS, OTHER_RECORD_COLUMN) if self.other_record else FAILURE_COLUMNS

    @property
    def is_error(self) -> bool:
        return self.severity == Severity.ERROR


_RULES: dict[str, Rule] = {}
# Per (record kind, stage): work every rule of the stage shares, run once before them.
_SETUPS: dict[tuple[str, str], Callable] = {}


def stage_setup(*, stage: str, record_kind: str):
    """Register the decorated context manager factory (called with the RuleContext) as the
    stage's shared setup: e.g. temporary tables that each rule of the stage reads instead of
    repeating the same large join. The engine enters it before the stage's first rule and
    leaves it after the last, even when a rule fails."""

    def register(func):
        _SETUPS[(record_kind, stage)] = func
        return func

    return register


def setup_for(record_kind: str, *, stage: str) -> Callable | None:
    return _SETUPS.get((record_kind, stage))


def rule(
    *,
    code,
    title,
    severity,
    record_kind,
    applies_to="instance",
    tolerance=None,
    stage="rules",
    other_record=False,
):
    """Register the decorated function as a rule's SQL. Its docstring is the rule's documentation."""

    def register(func):
        if code in _RULES:
            raise ValueError(f"rule {code} is registered twice")
        _RULES[code] = Rule(
            code=code,
            title=title,
            severity=severity,
            record_kind=record_kind,
            applies_to=applies_to,
            description=" ".join((func.__doc__ or "").split()),
            sql=func,
            tolerance=tolerance,
            stage=stage,
            other_record=other_record,
        )
        return func

    return register


def unregister(code: str) -> None:
    """Remove a rule (tests register temporary rules)."""
    _RULES.pop(code, None)


def rules_for(record_kind: str, *, stage: str = "rules") -> list[Rule]:
    return sorted(
        (r for r in _RULES.values() if r.record_kind == record_kind and r.stage == stage),
        key=lambda r: r.code,
    )


def get_rule(code: str) -> Rule | None:
    return _RULES.get(code)


def all_rules() -> list[Rule]:
    return sorted(_RULES.values(), key=lambda r: r.code)
