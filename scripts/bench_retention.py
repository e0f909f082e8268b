"""Retention benchmark (issue 14), PostgreSQL only:

    DEBUG=0 SECRET_KEY=x DATABASE_URL=postgres://... python scripts/bench_retention.py [uploads] [instances]

Uploads the same generated Student record file `uploads` times (default 10 x 100,000 instances)
as one provider's successive submissions, reports the record and failure tables' sizes, ages
every superseded upload past RETENTION_SUPERSEDED_DAYS, then runs retention while one more
upload runs in a thread (timing both, next to an upload alone, and sampling lock waits), and
reports the sizes again, after VACUUM, and over a few rounds of (3 uploads, retention, VACUUM):
the freed space is reused, so the size levels off."""

import os
import sys
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path

import django

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
django.setup()

from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402

from collections_app.models import (  # noqa: E402
    Submission,  # noqa: E402
)
from collections_app.pipeline.runner import submission_process  # noqa: E402
from portal.management.commands.bench import (  # noqa: E402
    REPORTING_YEAR,
    SEED,
    _bench_provider,
    _retire_bench_submissions,
    _stored_submission,
    bench_collection,
)
from portal.retention import retention_run  # noqa: E402
from student_record.sample_data import write_student_record  # noqa: E402

TABLES = ("sr_student", "sr_instance", "sr_rule_failure", "hin_link")


def sizes() -> str:
    parts = []
    with connection.cursor() as cursor:
        for table in TABLES:
            cursor.execute(f"SELECT pg_total_relation_size('{table}'), (SELECT COUNT(*) FROM {table})")
            size, count = cursor.fetchone()
            parts.append(f"{table} {size / 1e6:,.0f} MB ({count:,} rows)")
        cursor.execute("SELECT " + " + ".join(f"pg_total_relation_size('{t}')" for t in TABLES))
        total = cursor.fetchone()[0]
    return f"total {total / 1e6:,.0f} MB: " + "; ".join(parts)


def one_upload(path, provider, collection, user) -> tuple[float, Submission]:
    started = time.perf_counter()
    submission = _stored_submission(path, provider, collection, user)
    submission_process(submission_id=submission.pk, task_id=f"bench-{submission.pk}")
    elapsed = time.perf_counter() - started
    submission.refresh_from_db()
    assert submission.status in ("passed", "failed"), (submission.status, submission.error_message)
    return elapsed, submission


def main(uploads: int, instances: int, rounds: int = 4, per_round: int = 3) -> None:
    assert connection.vendor == "postgresql"
    provider, user = _bench_provider()
    collection = bench_collection("C97051", "Retention benchmark")
    _retire_bench_submissions(collection)
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM {', '.join(TABLES)}")
    print("before:", sizes(), flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.xml"
        with open(path, "w", encoding="utf-8") as out:
            write_student_record(out, instances=instances, recid=collection.recid, instid=provider.instid,
                                 ukprn=provider.ukprn, reporting_year=REPORTING_YEAR, seed=SEED)  # fmt: skip
        alone = []
        for i in range(uploads):
            elapsed, submission = one_upload(path, provider, collection, user)
            alone.append(elapsed)
            print(f"upload {i + 1}: submission {submission.pk} {submission.status} in {elapsed:.1f} s", flush=True)
        print(f"after {uploads} uploads:", sizes(), flush=True)

        Submission.objects.filter(collection=collection, status="superseded").update(
            finished_at=timezone.now() - timedelta(days=31)
        )
        concurrent = {}

        def upload_during_retention():
            try:
                concurrent["upload"] = one_upload(path, provider, collection, user)[0]
            finally:
                connection.close()

        lock_waits = []
        sampling = threading.Event()

        def sample_lock_waits():
            # Any session of this database waiting for a lock, sampled every 50 ms.
            try:
                with connection.cursor() as cursor:
                    while not sampling.is_set():
                        cursor.execute(
                            "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() "
                            "AND wait_event_type = 'Lock'"
                        )
                        lock_waits.append(cursor.fetchone()[0])
                        time.sleep(0.05)
            finally:
                connection.close()

        sampler = threading.Thread(target=sample_lock_waits)
        sampler.start()
        thread = threading.Thread(target=upload_during_retention)
        thread.start()
        started = time.perf_counter()
        removed = retention_run()
        retention_seconds = time.perf_counter() - started
        thread.join()
        sampling.set()
        sampler.join()
        rows = sum(r.total for r in removed)
        print(
            f"retention: {len(removed)} superseded submissions, {rows:,} rows removed in {retention_seconds:.1f} s "
            f"({retention_seconds / max(len(removed), 1):.1f} s per 100k submission) while an upload ran; "
            f"that upload took {concurrent.get('upload', float('nan')):.1f} s "
            f"(alone: median {sorted(alone)[len(alone) // 2]:.1f} s); "
            f"sessions waiting for a lock: {sum(1 for n in lock_waits if n)} of {len(lock_waits)} samples",
            flush=True,
        )
        print("after retention:", sizes(), flush=True)
        with connection.cursor() as cursor:
            cursor.execute(f"VACUUM {', '.join(TABLES)}")
        print("after VACUUM:", sizes(), flush=True)
        # Steady state: each night one more day's uploads are superseded and removed; the freed
        # space is reused, so the size levels off at what is kept plus a day's uploads.
        for day in range(1, rounds + 1):
            for _ in range(per_round):
                one_upload(path, provider, collection, user)
            Submission.objects.filter(collection=collection, status="superseded").update(
                finished_at=timezone.now() - timedelta(days=31)
            )
            removed = retention_run()
            with connection.cursor() as cursor:
                cursor.execute(f"VACUUM {', '.join(TABLES)}")
            print(f"round {day}: {per_round} uploads, {len(removed)} removed, after VACUUM:", sizes(), flush=True)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10, int(sys.argv[2]) if len(sys.argv) > 2 else 100_000)
