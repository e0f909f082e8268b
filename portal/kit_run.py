"""The offline validation kit's work (portal-validate; arguments and Django set-up are in
portal.validate_kit, which imports this module once Django runs on the kit's throwaway SQLite
database).

It makes the little the portal would hold about the provider (the provider from the file's
header, its collections, last year's file as approved data, the cohort's population), stores the
file as an upload and runs the portal's own pipeline on it (submission_process, as the worker
does), then reports from the stored results with the portal's selectors and writes the portal's
CSV downloads with the portal's row generators: the verdict, counts and CSV rows are the
portal's by construction, not a re-implementation.
"""

from __future__ import annotations

import json
import time
from datetime import date, timedelta
from pathlib import Path
from typing import TextIO

from django.apps import apps
from django.core.files import File
from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.utils import timezone
from lxml import etree

from accounts.models import Provider, Role, User
from collections_app import exports as collection_exports
from collections_app import selectors as collection_selectors
from collections_app.cohorts import COHORTS, course_end_window
from collections_app.models import Collection, CollectionKind, RuleResult, Submission, SubmissionStatus
from collections_app.pipeline.runner import submission_process
from collections_app.pipeline.xmlsafe import SAFE_PARSE_OPTIONS
from collections_app.rules.registry import get_rule
from collections_app.services import submission_store, upload_file_check
from collections_app.signals import submission_completed, submission_rejected
from contacts.models import PopulationBuild, PopulationEntry
from core.csv import csv_write
from core.errors import ActionRefused
from hin import exports as hin_exports
from hin import selectors as hin_selectors
from review.services import submission_approve_historical

from .validate_kit import EXIT_BROKEN, EXIT_FAILED, EXIT_PASSED, KINDS

ROOTS = {"StudentRecord": CollectionKind.STUDENT_RECORD, "ContactDetailsRecord": CollectionKind.CONTACT_DETAILS}
RECORD_TAGS = {CollectionKind.STUDENT_RECORD: "Student", CollectionKind.CONTACT_DETAILS: "Graduate"}
# A throwaway database: nothing to recover after a crash, so no journal on disk and no fsync.
SQLITE_PRAGMAS = "PRAGMA journal_mode=MEMORY; PRAGMA synchronous=OFF; PRAGMA temp_store=MEMORY; "
SQLITE_PRAGMAS += "PRAGMA cache_size=-262144"  # 256 MB of page cache
POPULATION_FIELDS = ("husid", "numhus", "ownstu", "fnames", "surname", "qual1", "dateleft", "homeeuos")


class KitUsageError(Exception):
    """The files given cannot be checked together (exit status 2)."""


def check(args, *, out: TextIO) -> int:
    started = time.perf_counter()
    _sqlite_pragmas()
    # Nobody to tell that processing finished: the kit's uploader has no inbox.
    submission_completed.disconnect(sender=Submission, dispatch_uid="review.submission_processed")
    submission_rejected.disconnect(sender=Submission, dispatch_uid="review.submission_rejected")
    _create_tables()
    setup_seconds = time.perf_counter() - started

    refusal = _refusal(args.file)
    if refusal:
        # Refused at upload, before any check: no submission, nothing to write but the summary.
        out.write(f"{args.file.name}: the portal would refuse this upload: {refusal}\n")
        out_dir = args.out or Path.cwd() / f"{args.file.stem}-checks"
        out_dir.mkdir(parents=True, exist_ok=True)
        summary = {"file": args.file.name, "verdict": "refused", "message": refusal, "rules": {}, "files": {}}
        (out_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
        return EXIT_FAILED
    kind = KINDS[args.kind] if args.kind else _kind_of(args.file)
    header = _header(args.file, kind)
    provider = Provider.objects.create(
        name=f"Provider {header['UKPRN']}",
        ukprn=header["UKPRN"],
        instid=args.instid or header.get("INSTID") or "0000",
        email_domains=list(args.email_domain),
        switchboard_numbers=list(args.switchboard),
    )
    user = User.objects.create(username="portal-validate", role=Role.PROVIDER_USER, provider=provider)
    if kind == CollectionKind.STUDENT_RECORD:
        if args.population:
            raise KitUsageError("--population is for contact details files; this is a Student record")
        previous_collection = None
        if args.previous:
            previous_collection = _load_previous(args.previous, provider, user, header)
        collection = _collection(header["RECID"], kind, previous=previous_collection)
    else:
        if args.previous:
            raise KitUsageError("--previous is for Student record files; this is a contact details file")
        collection = _collection(header["RECID"], kind)
        population = _population(args.population, header) if args.population else None
        collection.cohort = args.cohort or _cohort_of(collection.reporting_year, population)
        collection.save(update_fields=["cohort"])
        if population is not None:
            _store_population(population, provider, collection, user)

    submission = _store(args.file, provider, collection, user)
    started = time.perf_counter()
    submission_process(submission_id=submission.pk, task_id="portal-validate")
    pipeline_seconds = time.perf_counter() - started
    submission.refresh_from_db()
    if submission.status == SubmissionStatus.ERROR:
        out.write(f"The check itself broke: {submission.error_message}\nPlease report this with the file's layout.\n")
        return EXIT_BROKEN

    out_dir = args.out or Path.cwd() / f"{args.file.stem}-checks"
    out_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    files = _write_csvs(submission, out_dir, with_hin=bool(args.previous))
    timings = {"setup": setup_seconds, "pipeline": pipeline_seconds, "csv": time.perf_counter() - started}
    summary = _summary(submission, files, timings=timings)
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    _print(out, args, submission, summary, out_dir, show=args.show)
    return EXIT_PASSED if submission.status == SubmissionStatus.PASSED else EXIT_FAILED


def _refusal(path: Path) -> str | None:
    """What the upload form would say instead of accepting the file (empty, too large, not
    UTF-8, not XML), or None."""
    with open(path, "rb") as handle:
        try:
            upload_file_check(File(handle, name=path.name))
        except ActionRefused as refused:
            return refused.message
    return None


def _sqlite_pragmas() -> None:
    """Before the first connection: every connection (the pipeline's heartbeat thread has its
    own) opens with the throwaway database's pragmas instead of the portal's WAL."""
    options = connections.settings[DEFAULT_DB_ALIAS].setdefault("OPTIONS", {})
    options["init_command"] = SQLITE_PRAGMAS


def _create_tables() -> None:
    """The schema the migrations build, created straight from the models: a fresh throwaway
    database needs no history, and replaying 100-odd migrations takes seconds. (Equal because
    no migration runs SQL or code of its own and the models have no unmigrated changes; the
    tests compare the kit's results with the migrated portal's.)"""
    with connection.schema_editor() as editor:
        for model in apps.get_models():
            if model._meta.managed and not model._meta.proxy:
                editor.create_model(model)


# -- the file's header ---------------------------------------------------------------------------


def _kind_of(path: Path) -> str:
    try:
        for _event, element in etree.iterparse(str(path), events=("start",), **SAFE_PARSE_OPTIONS):
            if element.tag in ROOTS:
                return ROOTS[element.tag]
            break
    except etree.XMLSyntaxError:
        pass
    raise KitUsageError(
        f"{path}: not a StudentRecord or ContactDetailsRecord file as far as its first element shows; "
        "say which it is with --kind student-record or --kind contacts"
    )


def _header(path: Path, kind: str) -> dict[str, str]:
    """RECID, UKPRN (and INSTID) from the file's header, read up to the first record. A file too
    broken to show them is still checked (the portal rejects it with its schema errors) under
    placeholder values."""
    wanted, found = {"RECID", "UKPRN", "INSTID"}, {}
    record_tag = RECORD_TAGS[kind]
    try:
        for event, element in etree.iterparse(str(path), events=("start", "end"), **SAFE_PARSE_OPTIONS):
            if event == "start" and element.tag == record_tag:
                break
            if event == "end" and element.tag in wanted and element.getparent() is not None:
                found[element.tag] = (element.text or "").strip()
    except etree.XMLSyntaxError:
        pass
    placeholder_recid = "00051" if kind == CollectionKind.STUDENT_RECORD else "00071"
    found["RECID"] = found.get("RECID") if _digits(found.get("RECID"), 5) else placeholder_recid
    found["UKPRN"] = found.get("UKPRN") if _digits(found.get("UKPRN"), 8) else "10000000"
    if not _digits(found.get("INSTID"), 4):
        found.pop("INSTID", None)
    return found


def _digits(value: str | None, length: int) -> bool:
    return bool(value) and len(value) == length and value.isdigit()


# -- what the portal would hold ------------------------------------------------------------------


def _collection(recid: str, kind: str, *, previous: Collection | None = None) -> Collection:
    """The collection a RECID names: C23051 is the Student record of reporting year 2023/24."""
    now = timezone.now()
    reference = f"C{recid}"
    if previous is not None and previous.reference == reference:
        raise KitUsageError(f"--previous is from the same collection ({reference}), not the year before")
    return Collection.objects.create(
        reference=reference,
        name=f"{reference} ({CollectionKind(kind).label})",
        kind=kind,
        reporting_year=2000 + int(recid[:2]),
        opens=now - timedelta(days=1),
        approval_deadline=now + timedelta(days=30),
        previous=previous,
    )


def _store(path: Path, provider: Provider, collection: Collection, user: User) -> Submission:
    with open(path, "rb") as handle:
        return submission_store(
            provider=provider, collection=collection, user=user, file=File(handle), original_name=path.name
        )


def _load_previous(path: Path, provider: Provider, user: User, header: dict) -> Collection:
    """Last year's file through the same pipeline, then approved as the portal's approved
    previous-year data (review.services.submission_approve_historical, as import_history does)."""
    previous_header = _header(path, CollectionKind.STUDENT_RECORD)
    if previous_header["UKPRN"] != header["UKPRN"]:
        raise KitUsageError(
            f"--previous {path} is UKPRN {previous_header['UKPRN']}'s, not this file's ({header['UKPRN']})"
        )
    collection = _collection(previous_header["RECID"], CollectionKind.STUDENT_RECORD)
    if collection.reporting_year != 2000 + int(header["RECID"][:2]) - 1:
        raise KitUsageError(
            f"--previous {path} is for {collection.reference} ({collection.reporting_year_label}), "
            f"not the year before C{header['RECID']}"
        )
    submission = _store(path, provider, collection, user)
    submission_process(submission_id=submission.pk, task_id="portal-validate-previous")
    submission.refresh_from_db()
    if submission.status not in (SubmissionStatus.PASSED, SubmissionStatus.FAILED):
        first = submission.schema_errors.first()
        detail = first.message if first else submission.error_message or submission.stage_message
        raise KitUsageError(f"--previous {path} could not be stored ({submission.status}): {detail}")
    submission_approve_historical(submission=submission, user=user)
    return collection


def _population(path: Path, header: dict) -> list[dict]:
    """The population XML the portal offers (contacts.population.population_xml)."""
    graduates, found = [], {}
    try:
        for _event, element in etree.iterparse(str(path), events=("end",), **SAFE_PARSE_OPTIONS):
            if element.tag in ("RECID", "UKPRN") and element.getparent().tag == "Provider":
                found[element.tag] = (element.text or "").strip()
            elif element.tag == "Graduate":
                values = {child.tag.lower(): (child.text or "").strip() for child in element}
                graduates.append({field: values.get(field, "") for field in POPULATION_FIELDS})
                element.clear(keep_tail=False)
    except etree.XMLSyntaxError as exc:
        raise KitUsageError(f"--population {path} is not a population XML file: {exc}") from exc
    for name in ("RECID", "UKPRN"):
        if found.get(name) != header[name]:
            raise KitUsageError(
                f"--population {path} has {name} {found.get(name) or '(none)'}, this file {header[name]}: "
                "download the population of this collection and provider"
            )
    for graduate in graduates:
        try:
            graduate["dateleft"] = date.fromisoformat(graduate["dateleft"])
        except ValueError as exc:
            raise KitUsageError(f"--population {path}: DATELEFT {graduate['dateleft']!r} is not a date") from exc
    return graduates


def _cohort_of(reporting_year: int, population: list[dict] | None) -> str:
    """The cohort whose course-end window holds the population's DATELEFTs (A if none)."""
    for graduate in population or []:
        for cohort in COHORTS:
            start, end = course_end_window(reporting_year, cohort)
            if start <= graduate["dateleft"] <= end:
                return cohort
    return "A"


def _store_population(population: list[dict], provider: Provider, collection: Collection, user: User) -> None:
    """The population as the provider's current build; its source, the approved Student record
    it was built from in the portal, is a placeholder (the rules read only the entries)."""
    source_collection = _collection(f"{collection.recid[:2]}051", CollectionKind.STUDENT_RECORD)
    with transaction.atomic():
        source = Submission.objects.create(
            provider=provider,
            collection=source_collection,
            uploaded_by=user,
            original_name="population source (not checked)",
            size=0,
            status=SubmissionStatus.SUPERSEDED,
        )
        build = PopulationBuild.objects.create(
            provider=provider, collection=collection, source_submission=source, graduate_count=len(population)
        )
        PopulationEntry.objects.bulk_create(
            (PopulationEntry(build=build, ptitle="", domicile="", **graduate) for graduate in population),
            batch_size=5000,
        )


# -- results -------------------------------------------------------------------------------------


def _write_csvs(submission: Submission, out_dir: Path, *, with_hin: bool) -> dict[str, int]:
    """The portal's downloads of this submission, as files: name -> rows."""
    files: dict[str, int] = {}

    def write(what: str, header: list[str], rows) -> None:
        name = collection_exports.submission_filename(submission, what)
        files[name] = csv_write(out_dir / name, header, rows)

    if submission.status == SubmissionStatus.REJECTED:
        write(
            "schema-errors",
            collection_exports.SCHEMA_ERROR_HEADER,
            collection_exports.schema_error_rows(collection_selectors.schema_errors_for(submission=submission)),
        )
        return files
    write(
        "failures",
        collection_exports.FAILURE_HEADER,
        collection_exports.failure_rows(
            collection_selectors.failures_for(submission=submission), submission=submission
        ),
    )
    if submission.collection.kind == CollectionKind.STUDENT_RECORD:
        if with_hin:
            write(
                "hin-report",
                hin_exports.HIN_REPORT_HEADER,
                hin_exports.hin_report_rows(
                    submission=submission, failures=hin_selectors.hin_findings(submission=submission, report="")
                ),
            )
        write(
            "hin-target-list",
            hin_exports.TARGET_LIST_HEADER,
            hin_exports.hin_target_list_rows(hin_selectors.hin_target_list(submission=submission)),
        )
    return files


def _summary(submission: Submission, files: dict[str, int], *, timings: dict) -> dict:
    rules = dict(RuleResult.objects.filter(submission=submission).order_by("code").values_list("code", "failure_count"))
    summary = {
        "file": submission.original_name,
        "collection": submission.collection.reference,
        "ukprn": submission.provider.ukprn,
        "verdict": submission.status,
        "errors": submission.error_count,
        "warnings": submission.warning_count,
        "schema_errors": submission.schema_error_count,
        "students": submission.student_count,
        "instances": submission.instance_count,
        "rules": rules,
        "files": files,
        "seconds": {**timings, **(submission.stage_timings or {})},
    }
    if submission.collection.kind == CollectionKind.STUDENT_RECORD and hin_selectors.linking_ran(submission=submission):
        summary["hin_reports"] = {
            count.report.letter: count.failures for count in hin_selectors.hin_report_counts(submission=submission)
        }
    return summary


def _print(out: TextIO, args, submission: Submission, summary: dict, out_dir: Path, *, show: int) -> None:
    collection = submission.collection
    line = f"{args.file.name}: {collection.get_kind_display()} {collection.reference}, UKPRN {summary['ukprn']}"
    if args.previous:
        line += f", against {args.previous.name} as last year's approved data"
    out.write(line + "\n")
    if submission.status == SubmissionStatus.REJECTED:
        count = summary["schema_errors"]
        out.write(f"Verdict: REJECTED, {count:,} schema error{'s' if count != 1 else ''}. Nothing would be stored.\n")
        for error in collection_selectors.schema_errors_for(submission=submission)[:show]:
            where = f"line {error.line}" if error.line else "file"
            out.write(f"  {where}{f' ({error.record})' if error.record else ''}: {error.message}\n")
    else:
        out.write(
            f"Verdict: {submission.get_status_display().upper()}, {summary['errors']:,} errors and "
            f"{summary['warnings']:,} warnings.\n"
        )
        # The portal's own summary after its first sentence (which repeats the counts): the linking.
        more = submission.stage_message.split(". ", 1)[1] if ". " in submission.stage_message else ""
        if more:
            out.write(more + "\n")
        failing = RuleResult.objects.filter(submission=submission, failure_count__gt=0).order_by(
            "severity", "-failure_count", "code"
        )
        passed = RuleResult.objects.filter(submission=submission, failure_count=0).count()
        if failing:
            out.write(f"\n{'rule':<14}{'severity':<10}{'failures':>9}  title\n")
            for result in failing:
                rule = get_rule(result.code)
                title = rule.title if rule else ""
                out.write(f"{result.code:<14}{result.severity:<10}{result.failure_count:>9,}  {title}\n")
        out.write(f"{passed} other rule{'s' if passed != 1 else ''} passed.\n")
        if "hin_reports" in summary:
            reports = ", ".join(f"{letter} {count:,}" for letter, count in summary["hin_reports"].items())
            out.write(f"HIN reports (year-on-year findings): {reports}\n")
        elif collection.kind == CollectionKind.STUDENT_RECORD:
            out.write("No --previous: the HIN year-on-year checks (reports A-D) did not run.\n")
        elif not args.population:
            out.write(
                "No --population: every graduate fails GO.POP.01, as in the portal before a population is built.\n"
            )
        first = list(collection_selectors.failures_for(submission=submission)[:show])
        if first:
            out.write(f"\nFirst {len(first)} failures, in file order:\n")
            for failure in first:
                where = f"line {failure.line}" if failure.line else "no line"  # e.g. a population graduate
                out.write(f"  {where} {failure.code} {failure.husid or ''}: {failure.message}\n")
    out.write(f"\nFiles in {out_dir}:\n")
    for name, rows in summary["files"].items():
        out.write(f"  {name} ({rows:,} row{'s' if rows != 1 else ''})\n")
    out.write("  summary.json\n")
