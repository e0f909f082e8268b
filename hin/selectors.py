from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from django.db.models import Case, Count, F, Q, QuerySet, Value, When

from collections_app.models import (
    RuleFailure,
    RuleResult,
    Submission,
    WarningConfirmation,
    approved_data,
)
from collections_app.rules import get_rule
from collections_app.selectors import confirmations_for, settled, with_confirmation
from collections_app.selectors import warning_counts as collection_warning_counts
from student_record.models import Instance, Student

from .models import HinLink, LinkKind

# A closed-off HIN need not be returned next year: it left (RSNLEAVE and DATELEFT), suspended
# (NOTACT) or went dormant (MODE 63/64). Absent optional fields are stored as '' (DATELEFT as NULL).
CLOSED_OFF = (Q(rsnleave__gt="") & Q(dateleft__isnull=False)) | Q(notact__gt="") | Q(mode__in=("63", "64"))


def previous_year_submission(*, submission: Submission) -> Submission | None:
    """The provider's approved submission of the previous reporting year's collection."""
    previous_collection = submission.collection.previous
    if previous_collection is None:
        return None
    return (
        Submission.objects.filter(approved_data(), provider=submission.provider_id, collection=previous_collection)
        .select_related("collection")
        .order_by("-pk")
        .first()
    )


def hin_target_records(*, submission: Submission, search: str = "") -> QuerySet[Instance]:
    """The Target List's rows alone, without the students' names (for counts and page jumps)."""
    queryset = Instance.objects.filter(submission=submission).exclude(CLOSED_OFF)
    if search:
        # The students found first (on PostgreSQL by the trigram index), not an OR across the join.
        named = Student.objects.filter(submission=submission, surname__icontains=search).values("id")
        queryset = queryset.filter(Q(husid__startswith=search) | Q(student_id__in=named))
    return queryset


def hin_target_count(*, submission: Submission, search: str = "") -> int:
    """How many records the Target List (or a search of it) holds: instances alone, without the students' join.
    A completed run's list never changes, so its whole count is kept (see `settled`)."""
    if search:
        return hin_target_records(submission=submission, search=search).count()
    return settled(submission, "target-count", lambda: hin_target_records(submission=submission).count())


def hin_target_list(*, submission: Submission, search: str = "") -> QuerySet[Instance]:
    """The submission's HIN Target List: every record that is not closed off, in file order,
    with the student's names. Next year's submission must return a record for each (check 7).
    `search`: a HUSID prefix or part of a surname."""
    return (
        hin_target_records(submission=submission, search=search)
        .annotate(
            fnames=F("student__fnames"),
            surname=F("student__surname"),
            birthdte=F("student__birthdte"),
        )
        .order_by("line", "id")
    )


# The HIN reports. -------------------------------------------------------------------------------

# Failures that name a suggested BIRTHDTE/POSTCODE/QUALAIM match as their other record.
SUGGESTING_CHECKS = ("HIN6", "HIN7g", "HIN8")
# Check 7 is reported on last year's record: its other record is this year's.
REPORTED_ON_PREVIOUS = ("HIN7g", "HIN7h")


@dataclass(frozen=True)
class Report:
    letter: str
    title: str
    codes: tuple[str, ...]
    actions: str  # what the guidance says to do, in the provider's terms


REPORTS = (
    Report(
        "A",
        "HIN link, but the records disagree",
        ("HIN1", "HIN2", "HIN3c", "HIN3d", "HIN3h", "HIN3j", "HIN3m", "HIN3q", "HIN3u", "HIN5a", "HIN5b", "HIN5c"),
        "Correct the HIN if the records are a different programme or person; correct the field if this year's "
        "value is wrong; or confirm the change as a data quality improvement if last year's was wrong.",
    ),
    Report(
        "B",
        "No HIN link for a record that began before this reporting period",
        ("HIN6",),
        "Restore the HUSID and NUMHUS returned last year (the suggested match says which), correct COMDATE if "
        "the student started this year, or report the record missing from last year's submission.",
    ),
    Report(
        "C",
        "Last year's live HIN has no record this year",
        ("HIN7g", "HIN7h"),
        "Return a record for each HIN on last year's HIN Target List: restore the HUSID and NUMHUS on the record "
        "that continues it, or return it as active or dormant (MODE 63/64).",
    ),
    Report(
        "D",
        "Possible link to a record that was closed off",
        ("HIN8",),
        "If the student is continuing the same programme, restore the old HUSID and NUMHUS and COMDATE; if it "
        "is a new programme, confirm it.",
    ),
)
REPORT_OF_CODE = {code: report for report in REPORTS for code in report.codes}
REPORT_LETTERS = tuple(report.letter for report in REPORTS)
CONFIRMABLE_REPORTS = ("A", "D")  # warnings the provider can confirm; B and C are errors

# What each check compares, as (label, attribute of an Instance with its student).
RECORD_FIELDS = {
    "FNAMES": "student.fnames",
    "SURNAME": "student.surname",
    "BIRTHDTE": "student.birthdte",
    "GENDER": "student.gender",
    "ETHNIC": "student.ethnic",
    "UCASNUM": "student.ucasnum",
    "PTITLE": "ptitle",
    "QUALAIM": "qualaim",
    "COMDATE": "comdate",
    "MODE": "mode",
    "POSTCODE": "postcode",
    "DOMICILE": "domicile",
    "QUALENT2": "qualent2",
    "YRLLINST": "yrllinst",
    "TOTALTS": "totalts",
    "RSNLEAVE": "rsnleave",
    "DATELEFT": "dateleft",
    "NOTACT": "notact",
}
# The columns a HinRecord is made of (`_record`): a finding reads only these of its two records.
RECORD_COLUMNS = (
    "id",
    "husid",
    "numhus",
    "line",
    "student_id",
    *(path.replace(".", "__") for path in RECORD_FIELDS.values()),
)
BPQ = ("BIRTHDTE", "POSTCODE", "QUALAIM")
COMPARED = {
    "HIN1": ("QUALAIM",),
    "HIN2": ("COMDATE",),
    "HIN3c": ("QUALENT2",),
    "HIN3d": ("POSTCODE",),
    "HIN3h": ("DOMICILE",),
    "HIN3j": ("ETHNIC",),
    "HIN3m": ("YRLLINST",),
    "HIN3q": ("UCASNUM",),
    "HIN3u": ("TOTALTS",),
    "HIN5a": ("BIRTHDTE",),
    "HIN5b": ("GENDER",),
    "HIN5c": ("SURNAME",),
    "HIN6": (*BPQ, "COMDATE"),
    "HIN7g": (*BPQ, "COMDATE"),
    "HIN7h": (),
    "HIN8": (*BPQ, "COMDATE"),
}
# Shown for every finding, after the HIN and the compared fields.
CONTEXT_FIELDS = ("FNAMES", "SURNAME", "PTITLE", "QUALAIM", "COMDATE", "BIRTHDTE", "POSTCODE", "MODE")


def check_label(code: str) -> str:
    """'HIN3c' -> '3c', the check's name in the guidance."""
    return code.removeprefix("HIN")


def codes_for(*, report: str | None = None, check: str | None = None) -> list[str]:
    codes = [code for r in REPORTS if report in (None, "", r.letter) for code in r.codes]
    if check:
        codes = [code for code in codes if check_label(code).lower() == check.lower()]
    return codes


@dataclass(frozen=True)
class HinRecord:
    """One side of a finding: a record of this year's or last year's submission."""

    instance_id: int
    husid: str
    instid: str
    numhus: str
    line: int
    values: dict[str, str]  # RECORD_FIELDS label -> value as returned ('' when absent)
    closed_off: bool

    @property
    def status(self) -> str:
        return "closed off" if self.closed_off else "live"


@dataclass(frozen=True)
class HinFinding:
    failure: RuleFailure
    report: str
    check: str
    category: int | None
    current: HinRecord | None
    previous: HinRecord | None
    compared: tuple[str, ...]
    confirmation: WarningConfirmation | None

    @property
    def confirmable(self) -> bool:
        return self.report in CONFIRMABLE_REPORTS and self.failure.severity == "warning"

    @property
    def shown_fields(self) -> list[str]:
        """The compared fields first, then the context every finding shows."""
        return [*self.compared, *(f for f in CONTEXT_FIELDS if f not in self.compared)]

    @property
    def differing(self) -> set[str]:
        """Labels (HUSID, NUMHUS and record fields) whose values differ between the two records."""
        if not (self.current and self.previous):
            return set()
        differing = {label for label in RECORD_FIELDS if self.current.values[label] != self.previous.values[label]}
        differing |= {label for label in ("HUSID", "NUMHUS") if getattr(self.current, label.lower()) != getattr(
            self.previous, label.lower())}  # fmt: skip
        return differing

    @property
    def rows(self) -> list[tuple[str, str, str, bool]]:
        """(label, this year, last year, differs) for the side-by-side table."""
        differing = self.differing
        out = []
        for label in ("HUSID", "NUMHUS", *self.shown_fields):
            current = self._value(self.current, label)
            previous = self._value(self.previous, label)
            out.append((label, current, previous, label in differing))
        return out

    @staticmethod
    def _value(record: HinRecord | None, label: str) -> str:
        if record is None:
            return "—"
        if label in ("HUSID", "NUMHUS"):
            return getattr(record, label.lower())
        return record.values[label] or "(blank)"


def hin_findings(
    *,
    submission: Submission,
    report: str | None = None,
    check: str | None = None,
    confirmed: bool | None = None,
    husid: str | None = None,
    field: str | None = None,
    value: str | None = None,
) -> QuerySet[RuleFailure]:
    """The submission's HIN findings (year-on-year failures), filtered (`husid`: a HUSID prefix;
    `field`: the field a check compared, e.g. POSTCODE; `value`: the change exactly, e.g. "F (was
    M)"), in report and file order, annotated with `confirmed`. hin_findings_resolve() turns a
    page of them into HinFindings."""
    queryset = with_confirmation(
        RuleFailure.objects.filter(submission=submission, code__in=codes_for(report=report, check=check)),
        submission=submission,
    )
    if confirmed is not None:
        queryset = queryset.filter(confirmed=confirmed)
    if husid:
        queryset = queryset.filter(husid__startswith=husid)
    if field:
        queryset = queryset.filter(field=field)
    if value:
        queryset = queryset.filter(value=value)
    # The report's place as a named key, so a keyset page can seek on it (core.pagination).
    order = Case(*(When(code=code, then=Value(i)) for i, code in enumerate(REPORT_OF_CODE)))
    return queryset.annotate(report_order=order).order_by("report_order", "line", "id")


def hin_open_warnings(
    *,
    submission: Submission,
    warning_counts: dict,
    report: str,
    check: str | None = None,
    confirmed: bool | None = None,
    husid: str = "",
    field: str = "",
    value: str = "",
) -> int:
    """How many of the report's (or check's) warnings are not confirmed yet: what "confirm all
    matching" would confirm (hin.services.hin_findings_confirm_matching, same filter). From the
    per-rule `warning_counts` the page has read already, unless the filter needs a count of its own
    (a HUSID, field or value). A filter of confirmed warnings (`confirmed=True`) has none open."""
    if confirmed:
        return 0
    if husid or field or value:
        return (
            hin_findings(
                submission=submission,
                report=report,
                check=check,
                confirmed=False,
                husid=husid,
                field=field,
                value=value,
            )
            .filter(severity="warning")
            .count()
        )
    codes = codes_for(report=report, check=check)
    return sum(count.outstanding for code, count in warning_counts.items() if code in codes)


def hin_findings_total(
    *, current: ReportCount, check: str | None = None, confirmed: bool | None = None, filtered: bool = False
) -> int | None:
    """How many findings a report tab lists, from the counts stored per check (None when the filter
    needs a count of its own: a HUSID, field or value, or a check's confirmed/open share)."""
    if filtered:
        return None
    if check:
        if confirmed is not None:
            return None
        return sum(c.failures for c in current.checks if c.check.lower() == check.lower())
    if confirmed is None:
        return current.failures
    return current.confirmed if confirmed else current.outstanding


def finding_fields(*, submission: Submission, report: str | None = None) -> list[str]:
    """The fields the report's findings name (POSTCODE, BIRTHDTE, category 1, ...), for a filter."""
    return settled(
        submission,
        f"fields:{report or ''}",
        lambda: sorted(
            RuleFailure.objects.filter(submission=submission, code__in=codes_for(report=report))
            .exclude(field="")
            .values_list("field", flat=True)
            .distinct()
        ),
    )


def _value_text(value) -> str:
    if value is None:
        return ""
    return value.isoformat() if isinstance(value, date) else str(value)


def _record(instance: Instance, instid: str) -> HinRecord:
    """`instance` annotated with `closed_off` (CLOSED_OFF, the one definition the target list uses)."""
    values = {}
    for label, path in RECORD_FIELDS.items():
        value = instance
        for part in path.split("."):
            value = getattr(value, part)
        values[label] = _value_text(value)
    return HinRecord(instance.pk, instance.husid, instid, instance.numhus, instance.line, values, instance.closed_off)


def hin_findings_resolve(*, submission: Submission, failures: Iterable[RuleFailure]) -> list[HinFinding]:
    """Both records and any confirmation of each failure, in two queries however many failures."""
    failures = list(failures)
    ids = {f.instance_id for f in failures} | {f.other_instance_id for f in failures}
    instances = (
        Instance.objects.select_related("student")
        .only(*RECORD_COLUMNS)
        .annotate(closed_off=Case(When(CLOSED_OFF, then=Value(True)), default=Value(False)))
        .in_bulk([i for i in ids if i])
    )
    instid = submission.provider.instid
    confirmations = {}
    if any(getattr(f, "confirmed", False) for f in failures):
        wanted = [f for f in failures if f.confirmed]
        for c in (
            confirmations_for(submission=submission)
            .filter(code__in={f.code for f in wanted}, husid__in={f.husid for f in wanted})
            .select_related("confirmed_by")
        ):
            confirmations[(c.code, c.husid, c.numhus, c.value)] = c
    findings = []
    for failure in failures:
        here = instances.get(failure.instance_id)
        other = instances.get(failure.other_instance_id) if failure.other_instance_id else None
        current, previous = (other, here) if failure.code in REPORTED_ON_PREVIOUS else (here, other)
        category = failure.field.removeprefix("category ") if failure.field.startswith("category ") else None
        findings.append(
            HinFinding(
                failure=failure,
                report=REPORT_OF_CODE[failure.code].letter,
                check=check_label(failure.code),
                category=int(category) if category else None,
                current=_record(current, instid) if current else None,
                previous=_record(previous, instid) if previous else None,
                compared=COMPARED[failure.code],
                confirmation=confirmations.get((failure.code, failure.husid, failure.numhus, failure.value)),
            )
        )
    return findings


@dataclass(frozen=True)
class CheckCount:
    code: str
    check: str
    title: str
    severity: str
    failures: int


@dataclass(frozen=True)
class ReportCount:
    report: Report
    failures: int
    confirmed: int
    checks: list[CheckCount]
    ran: bool = True  # whether linking stored results for the report's checks (none: it did not run)

    @property
    def outstanding(self) -> int:
        return self.failures - self.confirmed


def hin_report_counts(
    *, submission: Submission, warning_counts: dict | None = None, summaries: list | None = None
) -> list[ReportCount]:
    """Reports A-D with their failure counts (and confirmed counts), per check; two queries, none when
    the caller passes the submission's `warning_counts` and rule `summaries` (already read)."""
    if summaries is None:
        results = dict(
            RuleResult.objects.filter(submission=submission, code__in=REPORT_OF_CODE).values_list(
                "code", "failure_count"
            )
        )
    else:
        results = {s.code: s.failure_count for s in summaries if s.code in REPORT_OF_CODE}
    if warning_counts is None:
        warning_counts = collection_warning_counts(submission=submission)
    confirmed = {code: count.confirmed for code, count in warning_counts.items()}
    out = []
    for report in REPORTS:
        checks = []
        for code in report.codes:
            rule = get_rule(code)
            checks.append(CheckCount(code, check_label(code), rule.title, rule.severity, results.get(code, 0)))
        out.append(
            ReportCount(
                report,
                failures=sum(c.failures for c in checks),
                confirmed=sum(confirmed.get(code, 0) for code in report.codes),
                checks=checks,
                ran=any(code in results for code in report.codes),
            )
        )
    return out


def linking_ran(*, submission: Submission) -> bool:
    return RuleResult.objects.filter(submission=submission, code__in=REPORT_OF_CODE).exists()


def link_counts(*, submission: Submission) -> dict[str, int]:
    """How many incoming records link by HIN, by a suggested match, or not at all."""

    def compute():
        counts = dict.fromkeys(LinkKind.values, 0)
        rows = HinLink.objects.filter(submission=submission).values("kind").annotate(n=Count("pk")).order_by()
        counts.update({row["kind"]: row["n"] for row in rows})
        return counts

    return settled(submission, "links", compute)
