"""Benchmarks. `manage.py bench ingest --instances 100000` times the whole pipeline on the
configured database next to lxml alone parsing and XSD-validating the same file.

`manage.py bench web --instances 100000` loads the same data (both years, through the pipeline;
`--keep` reuses it) and drives the pages over HTTP against gunicorn on 127.0.0.1 (portal.benchweb).

With `--with-previous`, the year before (same size, same students) is loaded first as the
provider's approved previous-year submission, so the linking stage links 100,000 against
100,000 and its time is reported on its own."""

import resource
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from django.core.files import File
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.utils import timezone
from lxml import etree

from accounts.models import Provider, Role, User
from collections_app.models import Collection, CollectionKind, RuleResult, Submission, SubmissionStatus
from collections_app.pipeline.runner import submission_process
from collections_app.pipeline.xmlsafe import SAFE_PARSE_OPTIONS, load_schema
from collections_app.services import submission_store
from portal import benchweb
from review.models import Approval
from review.services import submission_approve_historical
from student_record.parse import SCHEMA_FILE
from student_record.sample_data import SamplePopulation, write_student_record

REPORTING_YEAR = 2023
SEED = 42
PREVIOUS_SEED = 41


def lxml_alone(path: Path) -> float:
    """The baseline: stream-parse and validate with lxml, doing nothing with the records."""
    schema = load_schema(SCHEMA_FILE)
    started = time.perf_counter()
    for _event, element in etree.iterparse(
        str(path), events=("end",), tag="Student", schema=schema, **SAFE_PARSE_OPTIONS
    ):
        element.clear(keep_tail=False)
        while element.getprevious() is not None:
            del element.getparent()[0]
    return time.perf_counter() - started


class Command(BaseCommand):
    help = "Run a benchmark: `bench ingest --instances N [--with-previous]` or `bench web --instances N [--keep]`."

    def add_arguments(self, parser):
        parser.add_argument("which", choices=["ingest", "web"])
        parser.add_argument("--instances", type=int, default=100_000)
        parser.add_argument("--defect-rate", type=float, default=0.01)
        parser.add_argument(
            "--with-previous",
            action="store_true",
            help="first load the previous year of the same students (same size) as approved data, "
            "so the linking stage has something to link with",
        )
        parser.add_argument(
            "--hin-defect-rate",
            type=float,
            default=0.01,
            help="with --with-previous: share of students with a planted year-on-year problem",
        )
        parser.add_argument("--keep", action="store_true", help="keep the benchmark submissions' rows")
        benchweb.add_arguments(parser)

    def handle(self, *args, **opts):
        if opts["which"] == "web":
            if not (opts["keep"] and benchweb.dataset(instances=opts["instances"])):
                self.stdout.write("building the dataset: both years through the pipeline")
                self.handle_ingest(**{**opts, "with_previous": True, "keep": True})
            benchweb.run(self.stdout, **opts)
            if not opts["keep"]:
                _retire_bench_submissions(*Collection.objects.filter(reference__in=("C99051", "C98051")))
            return
        self.handle_ingest(**opts)

    def handle_ingest(self, **opts):
        n = opts["instances"]
        with_previous = opts["with_previous"]
        provider, _ = Provider.objects.get_or_create(
            ukprn="19999999", defaults={"name": "Benchmark University", "instid": "9999"}
        )
        user, _ = User.objects.get_or_create(
            username="bench", defaults={"role": Role.PROVIDER_USER, "provider": provider}
        )
        now = timezone.now()
        previous_collection, _ = Collection.objects.update_or_create(
            reference="C98051",
            defaults={
                "name": "Benchmark Student record, previous year",
                "kind": CollectionKind.STUDENT_RECORD,
                "reporting_year": REPORTING_YEAR - 1,
                "opens": now - timedelta(days=400),
                "approval_deadline": now - timedelta(days=300),
            },
        )
        collection, _ = Collection.objects.update_or_create(
            reference="C99051",
            defaults={
                "name": "Benchmark Student record",
                "kind": CollectionKind.STUDENT_RECORD,
                "reporting_year": REPORTING_YEAR,
                "opens": now - timedelta(days=1),
                "approval_deadline": now + timedelta(days=30),
                # Without --with-previous the linking stage finds no previous year and runs nothing.
                "previous": previous_collection if with_previous else None,
            },
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
        self.stdout.write(f"{'stage':<10}{'seconds':>10}{'rows/s':>14}")
        for stage in ("schema", "loading", "rules", "linking", "verdict"):
            seconds = submission.stage_timings.get(stage, 0.0)
            rate = f"{n / seconds:,.0f}" if seconds > 0 and stage in ("schema", "loading", "rules", "linking") else ""
            self.stdout.write(f"{stage:<10}{seconds:>10.2f}{rate:>14}")
        self.stdout.write(f"{'total':<10}{total:>10.2f}{n / total:>14,.0f}")
        self.stdout.write(f"lxml alone (parse + XSD validate): {baseline:.2f} s")
        self.stdout.write(f"ratio, pipeline end to end / lxml alone: {total / baseline:.2f}x")
        if with_previous:
            self.report_linking(submission, previous, total, baseline)
        self.stdout.write(f"peak RSS: {rss_after / 1024:.0f} MB (before the pipeline: {rss_before / 1024:.0f} MB)")
        if not opts["keep"]:
            _retire_bench_submissions(collection, previous_collection)

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
    Submission.objects.filter(pk__in=retired).update(status=SubmissionStatus.SUPERSEDED, file="")
    Approval.objects.filter(submission__in=retired, superseded_at__isnull=True).update(superseded_at=timezone.now())
