"""Kept CSVs (issue 11): a finished run's big list is written to a file at its first download and
served from that file after, byte for byte the same; nothing partial is ever kept, and the files
go with the run's rows (another run, retention, age)."""

import os
import stat
import time
from datetime import timedelta

import pytest
from django.http import FileResponse
from django.utils import timezone

from collections_app.exports import settled_csv, settled_csvs_discard
from collections_app.models import SubmissionStatus
from core.csv import csv_response

from .. import factories

pytestmark = pytest.mark.django_db

HEADER = ["line", "HUSID", "SURNAME"]
ROWS = [(n, f"{n:013d}", name) for n, name in enumerate(["Smith", "=HYPERLINK(1)", "O'Brien, Jr", None] * 300)]


class Rows:
    """The rows, counting how often they are read (each read is the list's query in the portal)."""

    def __init__(self, rows=ROWS):
        self.rows, self.reads = rows, 0

    def __call__(self):
        self.reads += 1
        return iter(self.rows)


@pytest.fixture
def finished():
    return factories.SubmissionFactory(status=SubmissionStatus.PASSED, finished_at=timezone.now())


def download(submission, rows, name="list"):
    response = settled_csv(submission=submission, name=name, filename="x-list.csv", header=HEADER, rows=rows)
    try:
        return response, b"".join(response.streaming_content)
    finally:
        response.close()


def kept_files(settings, submission=None):
    root = settings.EXPORT_CACHE_DIR
    pattern = f"submission-{submission.pk}/*" if submission else "*/*"
    return sorted(p.name for p in root.glob(pattern)) if root.exists() else []


def streamed_bytes():
    return b"".join(csv_response("x-list.csv", HEADER, iter(ROWS)).streaming_content)


def test_the_first_download_streams_and_keeps_the_file_later_ones_are_served_from_it(settings, finished):
    rows = Rows()
    first, first_bytes = download(finished, rows)
    assert not isinstance(first, FileResponse)
    second, second_bytes = download(finished, rows)
    third, _ = download(finished, rows)

    assert rows.reads == 1  # later downloads read no rows
    assert isinstance(second, FileResponse) and isinstance(third, FileResponse)
    assert first_bytes == second_bytes == streamed_bytes()  # formulas neutralised, BOM, CRLF: the same bytes
    assert b"'=HYPERLINK(1)" in second_bytes
    assert second["Content-Disposition"] == first["Content-Disposition"] == 'attachment; filename="x-list.csv"'
    assert second["Content-Type"] == "text/csv; charset=utf-8"
    assert int(second["Content-Length"]) == len(second_bytes)
    (kept,) = settings.EXPORT_CACHE_DIR.glob(f"submission-{finished.pk}/*.csv")
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600  # personal data: readable by the portal only


def test_lists_of_one_run_are_kept_apart(settings, finished):
    download(finished, Rows(), name="list")
    _, other = download(finished, Rows(ROWS[:2]), name="other")
    _, again = download(finished, Rows(), name="list")
    assert again == streamed_bytes() and other != again
    assert len(kept_files(settings, finished)) == 2


@pytest.mark.parametrize("status", [SubmissionStatus.QUEUED, SubmissionStatus.PROCESSING, SubmissionStatus.ERROR])
def test_a_run_in_flight_or_in_error_is_never_kept(settings, status):
    submission = factories.SubmissionFactory(status=status, finished_at=timezone.now())
    rows = Rows()
    download(submission, rows)
    response, body = download(submission, rows)
    assert rows.reads == 2 and not isinstance(response, FileResponse)
    assert body == streamed_bytes()
    assert kept_files(settings) == []


def test_archived_rows_are_not_served_from_a_kept_file_and_it_is_removed(settings, finished):
    download(finished, Rows())
    assert kept_files(settings, finished)
    finished.records_archived_at = timezone.now()
    rows = Rows(ROWS[:1])  # what is stored now
    response, body = download(finished, rows)
    assert rows.reads == 1 and not isinstance(response, FileResponse)
    assert body.count(b"\r\n") == 2
    assert kept_files(settings) == []


def test_a_new_run_gets_a_new_file_and_the_old_runs_goes(settings, finished):
    download(finished, Rows())
    (old_run,) = kept_files(settings, finished)
    finished.finished_at += timedelta(minutes=5)  # a retry or a re-load finished again
    rows = Rows(ROWS[:3])
    _, body = download(finished, rows)
    assert rows.reads == 1 and body.count(b"\r\n") == 4
    assert old_run not in kept_files(settings, finished) and len(kept_files(settings, finished)) == 1


def test_a_download_cut_short_keeps_nothing(settings, finished):
    response = settled_csv(submission=finished, name="list", filename="x.csv", header=HEADER, rows=Rows())
    pieces = iter(response.streaming_content)
    next(pieces)  # the client reads the first piece and goes away: the server closes the stream
    response.close()  # what the server does: it closes the stream's generator
    assert kept_files(settings, finished) == []
    assert not any(settings.EXPORT_CACHE_DIR.rglob(".*"))  # no part left behind
    rows = Rows()
    _, body = download(finished, rows)
    assert rows.reads == 1 and body == streamed_bytes()


def test_a_failing_read_keeps_nothing(settings, finished):
    def broken():
        yield from ROWS[:600]
        raise RuntimeError("connection lost")

    response = settled_csv(submission=finished, name="list", filename="x.csv", header=HEADER, rows=broken)
    with pytest.raises(RuntimeError):
        b"".join(response.streaming_content)
    assert not any(settings.EXPORT_CACHE_DIR.rglob("*.*"))


def test_files_past_their_age_are_written_again_and_swept(settings, finished):
    settings.EXPORT_CACHE_HOURS = 1
    other = factories.SubmissionFactory(status=SubmissionStatus.APPROVED, finished_at=timezone.now())
    download(finished, Rows())
    download(other, Rows())
    (stale,) = settings.EXPORT_CACHE_DIR.glob(f"submission-{other.pk}/*.csv")
    part = stale.with_name(".left-by-a-killed-worker.part")
    part.write_text("half")
    long_ago = time.time() - 2 * 3600
    for path in [*settings.EXPORT_CACHE_DIR.rglob("*.csv"), part]:
        os.utime(path, (long_ago, long_ago))

    rows = Rows()
    response, body = download(finished, rows)  # too old to serve: written again, and the rest swept

    assert rows.reads == 1 and not isinstance(response, FileResponse) and body == streamed_bytes()
    assert kept_files(settings, other) == [] and not part.exists()
    assert len(kept_files(settings, finished)) == 1


def test_discard_removes_a_submissions_files_only(settings, finished):
    other = factories.SubmissionFactory(status=SubmissionStatus.PASSED, finished_at=timezone.now())
    download(finished, Rows())
    download(other, Rows())
    settled_csvs_discard(submission_id=finished.pk)
    settled_csvs_discard(submission_id=finished.pk)  # nothing there: no error
    assert kept_files(settings, finished) == [] and len(kept_files(settings, other)) == 1


def test_a_folder_that_cannot_be_made_only_stops_keeping(settings, finished, tmp_path, caplog):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    settings.EXPORT_CACHE_DIR = blocker / "exports"
    rows = Rows()
    for _ in range(2):
        response, body = download(finished, rows)
        assert body == streamed_bytes() and not isinstance(response, FileResponse)
    assert rows.reads == 2 and "CSV not kept" in caplog.text


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full (Linux) to fill the disk")
def test_a_full_disk_while_writing_only_stops_keeping(settings, finished, monkeypatch, caplog):
    import core.csv

    def full_disk(dir, prefix, suffix):
        return os.open("/dev/full", os.O_WRONLY), os.path.join(dir, prefix + "x" + suffix)

    monkeypatch.setattr(core.csv.tempfile, "mkstemp", full_disk)
    response, body = download(finished, Rows())
    assert body == streamed_bytes()  # the whole list still reaches the user
    assert kept_files(settings, finished) == [] and "No space left" in caplog.text
