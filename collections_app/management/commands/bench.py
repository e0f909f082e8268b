"""Benchmarks. `manage.py bench ingest --instances 100000` times the whole pipeline on the
configured database next to lxml alone parsing and XSD-validating the same file."""

import resource
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

from django.core.files import File
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.utils import timezone
from lxml import etree

from collections_app.models import Collection, CollectionKind, Submission
from collections_app.pipeline.parse import SCHEMA_FILE
from collections_app.pipeline.runner import submission_process
from collections_app.pipeline.xmlsafe import SAFE_PARSE_OPTIONS, load_schema
from collections_app.sample_data import write_student_record
from portal.accounts.models import Provider, Role, User


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
    help = "Run a benchmark: `bench ingest --instances N`."

    def add_arguments(self, parser):
        parser.add_argument("which", choices=["ingest"])
        parser.add_argument("--instances", type=int, default=100_000)
        parser.add_argument("--defect-rate", type=float, default=0.01)
        parser.add_argument("--keep", action="store_true", help="keep the benchmark submission's rows")

    def handle(self, *args, **opts):
        n = opts["instances"]
        provider, _ = Provider.objects.get_or_create(
            ukprn="19999999", defaults={"name": "Benchmark University", "instid": "9999"}
        )
        user, _ = User.objects.get_or_create(
            username="bench", defaults={"role": Role.PROVIDER_USER, "provider": provider}
        )
        now = timezone.now()
        collection, _ = Collection.objects.update_or_create(
            reference="C99051",
            defaults={
                "name": "Benchmark Student record",
                "kind": CollectionKind.STUDENT_RECORD,
                "reporting_year": 2023,
                "opens": now - timedelta(days=1),
                "approval_deadline": now + timedelta(days=30),
            },
        )
        _delete_bench_submissions(collection)
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "bench.xml"
            started = time.perf_counter()
            with open(path, "w", encoding="utf-8") as out:
                summary = write_student_record(
                    out,
                    instances=n,
                    recid="99051",
                    instid=provider.instid,
                    ukprn=provider.ukprn,
                    reporting_year=2023,
                    seed=42,
                    defect_rate=opts["defect_rate"],
                )
            generated = time.perf_counter() - started
            size_mb = path.stat().st_size / 1e6
            self.stdout.write(
                f"generated {summary.students:,} students / {summary.instances:,} instances, "
                f"{size_mb:.1f} MB in {generated:.2f} s"
            )
            baseline = lxml_alone(path)
            with open(path, "rb") as handle:
                submission = Submission(
                    provider=provider,
                    collection=collection,
                    uploaded_by=user,
                    original_name="bench.xml",
                    sha256="0" * 64,
                    size=path.stat().st_size,
                )
                submission.file.save(f"bench-{uuid.uuid4().hex}.xml", File(handle), save=True)
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
        self.stdout.write(f"peak RSS: {rss_after / 1024:.0f} MB (before the pipeline: {rss_before / 1024:.0f} MB)")
        if not opts["keep"]:
            _delete_bench_submissions(collection)


def _delete_bench_submissions(collection) -> None:
    """Earlier benchmark runs would otherwise add a "changes since last upload" pass."""
    for old in Submission.objects.filter(collection=collection):
        old.file.delete(save=False)
        with connection.cursor() as cursor:
            for table in ("sr_rule_failure", "sr_instance", "sr_student"):
                cursor.execute(f"DELETE FROM {table} WHERE submission_id = %s", [old.pk])
        old.delete()
