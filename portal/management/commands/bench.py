"""Benchmarks. `manage.py bench ingest --instances 100000` times the whole pipeline on the
configured database next to lxml alone parsing and XSD-validating the same file;
`manage.py bench contacts --graduates 200000` does the same for a Graduate Outcomes contact
details cohort (with its population, so the population rules have something to check).
`manage.py bench kit --instances 100000` runs the offline validation kit (`portal-validate`, a
new process on its own throwaway SQLite database, whatever this command's database) on the
same kind of file, next to lxml alone.

`manage.py bench web --instances 100000` loads the same data (both years, through the pipeline;
`--keep` reuses it) and drives the pages over HTTP against gunicorn on 127.0.0.1 (portal.benchweb).

With `--with-previous`, the year before (same size, same students) is loaded first as the
provider's approved previous-year submission, so the linking stage links 100,000 against
100,000 and its time is reported on its own."""

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.core.files import File
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.utils import timezone
from lxml import etree

from accounts.models import Provider, Role, User
from collections_app.models import Collection, CollectionKind, RuleFailure, RuleResult, Submission, SubmissionStatus
from collections_app.pipeline.runner import submission_process
from collections_app.pipeline.xmlsafe import SAFE_PARSE_OPTIONS, load_schema
from collections_app.services import submission_store
from contacts.models import PopulationBuild, PopulationEntry
from contacts.parse import SCHEMA_FILE as CONTACTS_SCHEMA_FILE
from contacts.sample_data import create_population, write_cohort_file
from portal import benchweb
from review.models import Approval
from review.services import submission_approve_historical
from student_record.parse import SCHEMA_FILE
from student_record.sample_data import SamplePopulation, write_student_record

REPORTING_YEAR = 2023
SEED = 42
PREVIOUS_SEED = 41


def lxml_alone(path: Path, schema_file: Path = SCHEMA_FILE, record_tag: str = "Student") -> float:
    """The baseline: stream-parse and validate with lxml, doing nothing with the records."""
    schema = load_schema(schema_file)
    started = time.perf_counter()
    for _event, element in etree.iterparse(
        str(path), events=("end",), tag=record_tag, schema=schema, **SAFE_PARSE_OPTIONS
    ):
        element.clear(keep_tail=False)
        while element.getprevious() is not None:
            del element.getparent()[0]
    return time.perf_counter() - started


DEFECT_RATE = 0.01


class Command(BaseCommand):
    help = (
        "Run a benchmark: `bench ingest --instances N [--with-previous]`, `bench contacts --graduates N`, "
        "`bench kit --instances N [--with-previous]`, `bench web --instances N [--keep]`."
    )

    def add_arguments(self, parser):
        parser.add_argument("which", choices=["ingest", "contacts", "kit", "web"])
        parser.add_argument("--instances", type=int, default=100_000)
        parser.add_argument("--graduates", type=int, default=200_000, help="contacts: graduates in the cohort file")
        parser.add_argument(
            "--defect-rate",
            type=float,
            default=None,
            help=f"share of records with a planted rule failure (default {DEFECT_RATE}; web: {benchweb.DEFECT_RATE})",
        )
        parser.add_argument(
            "--with-previous",
            action="store_true",
            help="first load the previous year of the same students (same size) as approved data, "
            "so the linking stage has something to link with",
        )
        parser.add_argument(
            "--hin-defect-rate",
            type=float,
            default=None,
            help="with --with-previous: share of students with a planted year-on-year problem "
            f"(default {DEFECT_RATE}; web: {benchweb.HIN_DEFECT_RATE})",
        )
        parser.add_argument("--keep", action="store_true", help="keep the benchmark submissions' rows")
        parser.add_argument("--repeat", type=int, default=3, help="kit: runs of lxml alone and of the kit, best taken")
        benchweb.add_arguments(parser)

    def handle(self, *args, **opts):
        web = opts["which"] == "web"
        if opts["defect_rate"] is None:
            opts["defect_rate"] = benchweb.DEFECT_RATE if web else DEFECT_RATE
        if opts["hin_defect_rate"] is None:
            opts["hin_defect_rate"] = benchweb.HIN_DEFECT_RATE if web else DEFECT_RATE
        if opts["which"] == "contacts":
            return self.bench_contacts(opts)
        if opts["which"] == "kit":
            return self.bench_kit(opts)
        if opts["which"] == "web":
            if not (opts["keep"] and benchweb.dataset(instances=opts["instances"], defect_rate=opts["defect_rate"])):
                self.stdout.write("building the dataset: both years through the pipeline")
                self.handle_ingest(**{**opts, "with_previous": True, "keep": True})
            benchweb.run(self.stdout, **opts)
            if not opts["keep"]:
                _retire_bench_submissions(
                    *Collection.objects.filter(reference__in=(benchweb.CURRENT, benchweb.PREVIOUS))
                )
            return
        self.handle_ingest(**opts)

    def handle_ingest(self, **opts):
        n = opts["instances"]
        with_previous = opts["with_previous"]
        provider, user = _bench_provider()
        previous_collection = bench_collection(
            benchweb.PREVIOUS, "Benchmark Student record, previous year", year=REPORTING_YEAR - 1, closed=True
        )
        collection = bench_collection(
            benchweb.CURRENT,
            "Benchmark Student record",
            # Without --with-previous the linking stage finds no previous year and runs nothing.
            previous=previous_collection if with_previous else None,
        )
        _retire_bench_submissions(collection, previous_collection)
        previous_population = SamplePopulation(REPORTING_YEAR - 1, PREVIOUS_SEED, n, defect_rate=0.0)
        with tempfile.TemporaryDirectory() as tmp:
            if with_previous:
                previous = self.load_previous_year(Path(tmp), previous_collection, provider, user, previous_population)
                _settle()
            path = Path(tmp) / "bench.xml"
            started = time.perf_counter()
            with open(path, "w", encoding="utf-8") as out:
                summary = write_student_record(
                    out,
                    instances=n,
                    recid=collection.recid,
                    instid=provider.instid,
                    ukprn=provider.ukprn,
                    reporting_year=REPORTING_YEAR,
                    seed=SEED,
                    defect_rate=opts["defect_rate"],
                    next_year_of=previous_population if with_previous else None,
                    hin_defect_rate=opts["hin_defect_rate"] if with_previous else 0.0,
                )
            generated = time.perf_counter() - started
            size_mb = path.stat().st_size / 1e6
            self.stdout.write(
                f"generated {summary.students:,} students / {summary.instances:,} instances, "
                f"{size_mb:.1f} MB in {generated:.2f} s"
            )
            if with_previous:
                planted = ", ".join(f"{kind} {count}" for kind, count in sorted(summary.hin_problems.items()))
                self.stdout.write(
                    f"  {summary.continuing:,} instances continue from the previous year, "
                    f"{summary.new_entrants:,} are new entrants; planted year-on-year problems: {planted or 'none'}"
                )
            baseline = lxml_alone(path)
            submission = _stored_submission(path, provider, collection, user)
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        started = time.perf_counter()
        submission_process(submission_id=submission.pk, task_id="bench")
        total = time.perf_counter() - started
        rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        submission.refresh_from_db()
        if submission.status == "error":
            raise CommandError(submission.error_message)
        self.stdout.write(
            f"database: {connection.vendor}; verdict: {submission.status}, "
            f"{submission.error_count:,} errors, {submission.warning_count:,} warnings"
        )
        self.stdout.write(f"{'stage':<12}{'seconds':>10}{'rows/s':>14}")
        for stage in ("schema", "loading", "rules", "linking", "credibility", "verdict"):
            seconds = submission.stage_timings.get(stage, 0.0)
            rate = f"{n / seconds:,.0f}" if seconds > 0 and stage != "verdict" else ""
            self.stdout.write(f"{stage:<12}{seconds:>10.2f}{rate:>14}")
        self.stdout.write(f"{'total':<12}{total:>10.2f}{n / total:>14,.0f}")
        self.stdout.write(f"lxml alone (parse + XSD validate): {baseline:.2f} s")
        self.stdout.write(f"ratio, pipeline end to end / lxml alone: {total / baseline:.2f}x")
        if with_previous:
            self.report_linking(submission, previous, total, baseline)
        credibility = submission.stage_timings.get("credibility", 0.0)
        self.stdout.write(
            f"credibility tables add {credibility:.2f} s ({credibility / total:.0%} of the pipeline)"
            + (f", against {previous.instance_count:,} previous-year instances" if with_previous else "")
        )
        self.stdout.write(f"peak RSS: {rss_after / 1024:.0f} MB (before the pipeline: {rss_before / 1024:.0f} MB)")
        if not opts["keep"]:
            _retire_bench_submissions(collection, previous_collection)

    def bench_contacts(self, opts) -> None:
        """One cohort file through the real contact details pipeline, next to lxml alone."""
        n = opts["graduates"]
        provider, user = _bench_provider()
        source_collection = bench_collection(benchweb.CURRENT, "Benchmark Student record")
        collection = bench_collection(
            "C99071", "Benchmark Graduate Outcomes contact details, cohort A", kind=CollectionKind.CONTACT_DETAILS,
            cohort="A",
        )  # fmt: skip
        _retire_bench_contacts(collection)
        # The population's source: a placeholder for the approved Student record it is built from.
        source = Submission.objects.create(
            provider=provider,
            collection=source_collection,
            uploaded_by=user,
            original_name="bench population source",
            size=0,
            status=SubmissionStatus.SUPERSEDED,
        )
        sample = {"graduates": n, "seed": SEED, "defect_rate": opts["defect_rate"], "reporting_year": REPORTING_YEAR}
        started = time.perf_counter()
        build = create_population(provider=provider, collection=collection, source_submission=source, **sample)
        populated = time.perf_counter() - started
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "contacts.xml"
            started = time.perf_counter()
            with open(path, "w", encoding="utf-8") as out:
                summary = write_cohort_file(out, recid=collection.recid, ukprn=provider.ukprn, **sample)
            generated = time.perf_counter() - started
            self.stdout.write(
                f"generated {summary.graduates:,} graduates / {summary.details:,} details, "
                f"{path.stat().st_size / 1e6:.1f} MB in {generated:.2f} s; population of "
                f"{build.graduate_count:,} stored in {populated:.2f} s"
            )
            planted = ", ".join(f"{kind} {count}" for kind, count in sorted(summary.defects.items()))
            self.stdout.write(f"planted defects: {planted or 'none'}")
            cpu_started = time.process_time()
            baseline = lxml_alone(path, CONTACTS_SCHEMA_FILE, "Graduate")
            baseline_cpu = time.process_time() - cpu_started
            submission = _stored_submission(path, provider, collection, user)
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        cpu_started = time.process_time()
        started = time.perf_counter()
        submission_process(submission_id=submission.pk, task_id="bench-contacts")
        total = time.perf_counter() - started
        cpu = time.process_time() - cpu_started
        rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        submission.refresh_from_db()
        if submission.status == "error":
            raise CommandError(submission.error_message)
        self.stdout.write(
            f"database: {connection.vendor}; verdict: {submission.status}, "
            f"{submission.error_count:,} errors, {submission.warning_count:,} warnings"
        )
        if submission.status == SubmissionStatus.REJECTED:
            first = submission.schema_errors.first()
            self.stdout.write(f"rejected: {first.message if first else submission.stage_message}")
        self.stdout.write(f"{'stage':<12}{'seconds':>10}{'rows/s':>14}")
        for stage in ("schema", "loading", "rules", "verdict"):
            seconds = submission.stage_timings.get(stage, 0.0)
            rate = f"{n / seconds:,.0f}" if seconds > 0 and stage != "verdict" else ""
            self.stdout.write(f"{stage:<12}{seconds:>10.2f}{rate:>14}")
        self.stdout.write(f"{'total':<12}{total:>10.2f}{n / total:>14,.0f}")
        self.stdout.write(f"lxml alone (parse + XSD validate): {baseline:.2f} s")
        self.stdout.write(f"ratio, pipeline end to end / lxml alone: {total / baseline:.2f}x")
        # On a shared machine wall time includes waiting for a core; CPU time of this process
        # (the parse and the COPY threads, not the database server's) does not.
        self.stdout.write(
            f"CPU time of this process: pipeline {cpu:.2f} s, lxml alone {baseline_cpu:.2f} s, "
            f"ratio {cpu / baseline_cpu if baseline_cpu else 0:.2f}x"
        )
        self.stdout.write(f"peak RSS: {rss_after / 1024:.0f} MB (before the pipeline: {rss_before / 1024:.0f} MB)")
        if not opts["keep"]:
            _retire_bench_contacts(collection)

    def bench_kit(self, opts) -> None:
        """The offline validation kit on a bench file, as a provider runs it (a new process:
        Python and Django start-up, tables, the pipeline, the CSV files), next to lxml alone."""
        n = opts["instances"]
        ukprn, instid = "19999999", "9999"
        previous_population = SamplePopulation(REPORTING_YEAR - 1, PREVIOUS_SEED, n, defect_rate=0.0)
        with tempfile.TemporaryDirectory() as tmp:
            path, previous_path = Path(tmp) / "bench.xml", Path(tmp) / "previous.xml"
            if opts["with_previous"]:
                with open(previous_path, "w", encoding="utf-8") as out:
                    write_student_record(
                        out, instances=n, recid=f"{(REPORTING_YEAR - 1) % 100:02d}051", instid=instid, ukprn=ukprn,
                        reporting_year=REPORTING_YEAR - 1, seed=PREVIOUS_SEED,
                    )  # fmt: skip
            with open(path, "w", encoding="utf-8") as out:
                summary = write_student_record(
                    out,
                    instances=n,
                    recid=f"{REPORTING_YEAR % 100:02d}051",
                    instid=instid,
                    ukprn=ukprn,
                    reporting_year=REPORTING_YEAR,
                    seed=SEED,
                    defect_rate=opts["defect_rate"],
                    next_year_of=previous_population if opts["with_previous"] else None,
                    hin_defect_rate=opts["hin_defect_rate"] if opts["with_previous"] else 0.0,
                )
            self.stdout.write(
                f"generated {summary.students:,} students / {summary.instances:,} instances, "
                f"{path.stat().st_size / 1e6:.1f} MB"
            )
            command = [sys.executable, "-m", "portal.validate_kit", str(path), "--out", str(Path(tmp) / "out")]
            if opts["with_previous"]:
                command += ["--previous", str(previous_path)]
            # Best of --repeat runs of each, taken in turns: on a shared machine waiting for a core
            # only ever adds time, so the fastest run is the closest to the work itself.
            runs = []
            for _ in range(max(1, opts["repeat"])):
                cpu_started = time.process_time()
                baseline = lxml_alone(path)
                runs.append(("lxml", baseline, time.process_time() - cpu_started))
                children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
                started = time.perf_counter()
                run = subprocess.run(  # noqa: S603 (our own interpreter and module)
                    command, cwd=settings.BASE_DIR, env=os.environ.copy(), capture_output=True, text=True, check=False
                )
                total = time.perf_counter() - started
                children = resource.getrusage(resource.RUSAGE_CHILDREN)
                cpu = (children.ru_utime - children_before.ru_utime) + (children.ru_stime - children_before.ru_stime)
                if run.returncode not in (0, 1):
                    raise CommandError(f"portal-validate exited {run.returncode}: {run.stderr or run.stdout}")
                runs.append(("kit", total, cpu))
            baseline, baseline_cpu = min((wall, cpu) for what, wall, cpu in runs if what == "lxml")
            total, cpu = min((wall, cpu) for what, wall, cpu in runs if what == "kit")
            baseline_previous = lxml_alone(previous_path) if opts["with_previous"] else 0.0
            result = json.loads((Path(tmp) / "out" / "summary.json").read_text(encoding="utf-8"))
        self.stdout.write(
            f"kit verdict: {result['verdict']}, {result['errors']:,} errors, {result['warnings']:,} warnings "
            f"(exit status {run.returncode})"
        )
        seconds = result["seconds"]
        self.stdout.write(f"{'step (last run)':<16}{'seconds':>4}")
        for step in ("setup", "schema", "loading", "rules", "linking", "verdict", "csv"):
            if step in seconds:
                self.stdout.write(f"{step:<10}{seconds[step]:>10.2f}")
        self.stdout.write(f"{'process':<10}{total:>10.2f}  (portal-validate end to end, start-up included)")
        self.stdout.write(
            "runs (wall seconds, taken in turns): lxml alone "
            + ", ".join(f"{wall:.2f}" for what, wall, _cpu in runs if what == "lxml")
            + "; kit "
            + ", ".join(f"{wall:.2f}" for what, wall, _cpu in runs if what == "kit")
            + f"; best of {len(runs) // 2} each below"
        )
        self.stdout.write(f"lxml alone (parse + XSD validate): {baseline:.2f} s")
        self.stdout.write(f"ratio, kit end to end / lxml alone: {total / baseline:.2f}x")
        self.stdout.write(
            f"CPU time: kit process {cpu:.2f} s, lxml alone {baseline_cpu:.2f} s, "
            f"ratio {cpu / baseline_cpu if baseline_cpu else 0:.2f}x"
        )
        if opts["with_previous"]:
            both = baseline + baseline_previous
            self.stdout.write(
                f"with last year's file too: lxml alone on both files {both:.2f} s, ratio {total / both:.2f}x; "
                f"HIN reports: {result.get('hin_reports')}"
            )

    def load_previous_year(self, tmp: Path, collection, provider, user, population: SamplePopulation) -> Submission:
        """Year N through the real pipeline, then approved as import_history does."""
        path = tmp / "previous.xml"
        with open(path, "w", encoding="utf-8") as out:
            summary = write_student_record(
                out,
                instances=population.instances,
                recid=collection.recid,
                instid=provider.instid,
                ukprn=provider.ukprn,
                reporting_year=population.reporting_year,
                seed=population.seed,
                defect_rate=population.defect_rate,
            )
        submission = _stored_submission(path, provider, collection, user)
        started = time.perf_counter()
        submission_process(submission_id=submission.pk, task_id="bench-previous")
        seconds = time.perf_counter() - started
        submission.refresh_from_db()
        if submission.status not in (SubmissionStatus.PASSED, SubmissionStatus.FAILED):
            raise CommandError(
                f"The previous year's file ended as {submission.status}: "
                f"{submission.error_message or submission.stage_message}"
            )
        submission_approve_historical(submission=submission, user=user)
        self.stdout.write(
            f"previous year ({collection.reference}): {summary.students:,} students / {summary.instances:,} "
            f"instances processed in {seconds:.2f} s and approved"
        )
        return submission

    def report_linking(self, submission: Submission, previous: Submission, total: float, baseline: float) -> None:
        linking = submission.stage_timings.get("linking", 0.0)
        self.stdout.write(
            f"linking adds {linking:.2f} s: {submission.instance_count:,} current vs "
            f"{previous.instance_count:,} previous instances ({linking / total:.0%} of the pipeline); "
            f"without it the pipeline is {(total - linking) / baseline:.2f}x lxml alone"
        )
        findings = (
            RuleResult.objects.filter(submission=submission, code__startswith="HIN", failure_count__gt=0)
            .order_by("code")
            .values_list("code", "failure_count")
        )
        self.stdout.write("HIN findings: " + (", ".join(f"{code} {count:,}" for code, count in findings) or "none"))


def _settle() -> None:
    """Vacuum the record tables after loading the previous year, as a database holding last
    year's data for months would be: otherwise autovacuum wakes up for the 100,000 rows just
    written and competes with the measured run for the machine's cores."""
    if connection.vendor != "postgresql" or connection.in_atomic_block:  # VACUUM cannot run in a transaction
        return
    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE) sr_student, sr_instance, sr_rule_failure, hin_link")


def bench_collection(
    reference: str,
    name: str,
    *,
    kind: str = CollectionKind.STUDENT_RECORD,
    year: int = REPORTING_YEAR,
    closed: bool = False,
    **fields,
) -> Collection:
    """A benchmark collection, created or brought up to date: open now with its approval deadline
    30 days ahead, or (`closed`) a year-old one."""
    now = timezone.now()
    if closed:
        opens, deadline = now - timedelta(days=400), now - timedelta(days=300)
    else:
        opens, deadline = now - timedelta(days=1), now + timedelta(days=30)
    collection, _ = Collection.objects.update_or_create(
        reference=reference,
        defaults={"name": name, "kind": kind, "reporting_year": year, "opens": opens, "approval_deadline": deadline,
                  **fields},
    )  # fmt: skip
    return collection


def _bench_provider():
    provider, _ = Provider.objects.get_or_create(
        ukprn="19999999", defaults={"name": "Benchmark University", "instid": "9999"}
    )
    user, _ = User.objects.get_or_create(username="bench", defaults={"role": Role.PROVIDER_USER, "provider": provider})
    return provider, user


def _retire_bench_contacts(collection) -> None:
    """Earlier contact benchmark runs: their records, failures and population go; the
    submission rows stay, superseded, as for `bench ingest`."""
    retired = list(Submission.objects.filter(collection=collection).values_list("pk", flat=True))
    builds = list(PopulationBuild.objects.filter(collection=collection).values_list("pk", flat=True))
    with connection.cursor() as cursor:
        if builds:
            marks = ", ".join(["%s"] * len(builds))
            cursor.execute(f"DELETE FROM {PopulationEntry._meta.db_table} WHERE build_id IN ({marks})", builds)
        if retired:
            marks = ", ".join(["%s"] * len(retired))
            for table in (RuleFailure._meta.db_table, "go_detail", "go_graduate"):
                cursor.execute(f"DELETE FROM {table} WHERE submission_id IN ({marks})", retired)
    PopulationBuild.objects.filter(pk__in=builds).delete()
    for old in Submission.objects.filter(pk__in=retired).exclude(file=""):
        old.file.delete(save=False)
    Submission.objects.filter(pk__in=retired).update(
        status=SubmissionStatus.SUPERSEDED, file="", records_archived_at=timezone.now()
    )
    Approval.objects.filter(submission__in=retired, superseded_at__isnull=True).update(superseded_at=timezone.now())


def _stored_submission(path: Path, provider, collection, user) -> Submission:
    with open(path, "rb") as handle:
        return submission_store(
            provider=provider, collection=collection, user=user, file=File(handle), original_name=path.name
        )


def _retire_bench_submissions(*collections) -> None:
    """Earlier benchmark runs would otherwise be linked with instead of this run's previous year,
    and would weigh on the "changes since the last upload" pass. Their stored records and files
    go; the submission rows stay, superseded, because the audit log refers to them."""
    retired = list(Submission.objects.filter(collection__in=collections).values_list("pk", flat=True))
    for old in Submission.objects.filter(pk__in=retired).exclude(file=""):
        old.file.delete(save=False)
    if not retired:
        return
    placeholders = ", ".join(["%s"] * len(retired))
    with connection.cursor() as cursor:
        for table in ("hin_link", "sr_rule_failure", "sr_instance", "sr_student"):
            cursor.execute(f"DELETE FROM {table} WHERE submission_id IN ({placeholders})", retired)
    Submission.objects.filter(pk__in=retired).update(
        status=SubmissionStatus.SUPERSEDED, file="", records_archived_at=timezone.now()
    )
    Approval.objects.filter(submission__in=retired, superseded_at__isnull=True).update(superseded_at=timezone.now())
