"""The record-kind registry: what the pipeline needs to know about each kind of file.

A record kind (the Student record, Graduate Outcomes contact details, ...) lives in an app of its
own and registers itself here from its AppConfig.ready(). The runner, the upload service and the
screens look a collection's kind up here and name none: adding a kind touches none of them.

A kind gives:
- `tables`: the tables its parser fills, each with its COPY column list (first `id`, then
  `submission_id`);
- `parse(path, *, submission_id, streams, progress, error_cap) -> ParseOutcome`: one streaming
  pass that validates the file against the kind's XSD and writes COPY rows to `streams[table]`;
- `check_header(submission, outcome)`: errors that make a valid file the wrong file (another
  collection's or provider's);
- `changes_since(previous_id, current_id)`: records added, removed and changed since the
  provider's previous upload, or None where the kind has no stable record key;
- `names(submission, keys)`: the people a kind's failures are about, {(HUSID, NUMHUS): (FNAMES,
  SURNAME)}, where its records carry no names of their own (the failures' `student` row is the
  Student record's); None where they do; and `name_search(submission, text)`, the HUSIDs (a
  subquery) of the people whose names contain `text`, so a search of the failures finds them;
- its rules, registered with the rules registry under its kind (collections_app.rules.rule).

Other apps may add stages that run after the rules for one kind (`add_stage`): hin adds the
Student record's year-on-year linking.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .pipeline.locate import LocatedError
from .pipeline.parsing import ParseOutcome


@dataclass(frozen=True)
class ExtraStage:
    stage: str  # a Stage value: what the progress bar shows
    run: Callable[..., str]  # run(*, submission, progress) -> a sentence added to the verdict message


def _no_header_check(submission, outcome: ParseOutcome) -> list[LocatedError]:
    return []


def header_mismatches(submission, outcome: ParseOutcome, *, envelope: str) -> list[LocatedError]:
    """A valid file for another collection (its RECID) or another provider (its UKPRN) is the
    wrong file: the errors that reject it, located at `envelope`/RECID (e.g. /StudentRecord/Institution)."""
    errors = []
    recid, ukprn = outcome.header.get("RECID"), outcome.header.get("UKPRN")
    collection, provider = submission.collection, submission.provider
    if recid and recid != collection.recid:
        errors.append(
            LocatedError(
                line=outcome.header_lines.get("RECID"),
                path=f"{envelope}/RECID",
                message=f"RECID {recid} is not this collection's ({collection.recid} for {collection.reference}). "
                "Check you chose the right collection.",
            )
        )
    if ukprn and ukprn != provider.ukprn:
        errors.append(
            LocatedError(
                line=outcome.header_lines.get("UKPRN"),
                path=f"{envelope}/UKPRN",
                message=f"UKPRN {ukprn} is not {provider.name}'s UKPRN ({provider.ukprn}).",
            )
        )
    return errors


@dataclass(frozen=True)
class RecordKind:
    kind: str  # a Collection.kind value
    label: str
    tables: dict[str, tuple[str, ...]]
    parse: Callable[..., ParseOutcome]
    record_noun: str = "records"  # "Storing 1,200 instances"
    check_header: Callable[..., list[LocatedError]] = _no_header_check
    changes_since: Callable[[int, int], tuple[int, int, int]] | None = None
    names: Callable[..., dict[tuple[str, str], tuple[str, str]]] | None = None
    name_search: Callable[..., object] | None = None


class UnknownKind(LookupError):
    pass


_KINDS: dict[str, RecordKind] = {}
_STAGES: dict[str, list[ExtraStage]] = {}


def register(kind: RecordKind) -> RecordKind:
    if kind.kind in _KINDS and _KINDS[kind.kind] != kind:
        raise ValueError(f"record kind {kind.kind!r} is registered twice")
    _KINDS[kind.kind] = kind
    return kind


def unregister(kind: str) -> None:
    """Remove a kind and its stages (tests register throw-away kinds)."""
    _KINDS.pop(kind, None)
    _STAGES.pop(kind, None)


def add_stage(kind: str, *, stage: str, run: Callable[..., str]) -> None:
    """Run `run` after the rules for every submission of `kind`, in the order stages were added.
    Kept apart from `register`, so the app adding a stage need not be ready after the kind's."""
    stages = _STAGES.setdefault(kind, [])
    if all(existing.stage != stage for existing in stages):
        stages.append(ExtraStage(stage=stage, run=run))


def get(kind: str) -> RecordKind:
    try:
        return _KINDS[kind]
    except KeyError:
        raise UnknownKind(kind) from None


def find(kind: str) -> RecordKind | None:
    """The kind, or None where it is not registered (for its optional hooks)."""
    return _KINDS.get(kind)


def registered() -> list[RecordKind]:
    return list(_KINDS.values())


def is_registered(kind: str) -> bool:
    return kind in _KINDS


def stages_for(kind: str) -> list[ExtraStage]:
    return list(_STAGES.get(kind, ()))
