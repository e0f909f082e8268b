"""The demo runs a real worker (issue 12, item 13): on Redis when one answers, otherwise on kombu's
filesystem transport, which needs no server; an upload then moves through its stages on the page."""

import io

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from portal.brokers import FILESYSTEM_BROKER, filesystem_transport_options
from student_record.sample_data import write_student_record

from ..worker_helpers import RealWorker, closed_port_url, sending_to


def _demo_broker(*args) -> str:
    out = io.StringIO()
    call_command("demo_broker", *args, stdout=out)
    return out.getvalue().strip()


def test_the_demo_uses_the_filesystem_when_no_redis_answers():
    assert _demo_broker("--redis-url", closed_port_url()) == FILESYSTEM_BROKER


def test_the_demo_uses_redis_when_it_answers(require_redis):
    assert _demo_broker("--redis-url", require_redis) == require_redis


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_on_the_filesystem_broker_processes_an_upload_while_the_page_watches(
    require_chromium,
    require_postgres,
    live_server,
    page,
    login,
    provider,
    provider_user,
    collection,
    settings,
    tmp_path,
):
    out = io.StringIO()
    write_student_record(out, instances=60_000, recid="23051", instid=provider.instid, ukprn=provider.ukprn,
                         reporting_year=2023, seed=5, defect_rate=0.01)  # fmt: skip
    record_file = tmp_path / "records.xml"
    record_file.write_text(out.getvalue(), encoding="utf-8")
    folder = tmp_path / "broker"
    worker = RealWorker(
        broker_url=FILESYSTEM_BROKER,
        media_root=settings.MEDIA_ROOT,
        log_dir=tmp_path,
        env={"BROKER_FOLDER": str(folder)},
    )
    with worker, sending_to(FILESYSTEM_BROKER, transport_options=filesystem_transport_options(folder)):
        worker.wait_ready()
        login(page, provider_user)
        page.goto(f"{live_server.url}/collections/{collection.reference}/")
        page.set_input_files("input[type=file]", str(record_file))
        page.click("#upload-button")
        page.wait_for_url("**/submissions/*/", timeout=30_000)
        # The page polls: the stage moves on without a reload, to the verdict.
        expect(page.locator("#pipeline-stage")).to_contain_text("students/s", timeout=60_000)
        expect(page.locator("#status-badge")).to_have_text("Failed", timeout=60_000)
    assert "succeeded" in worker.log_tail(), worker.log_tail()
