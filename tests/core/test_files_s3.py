"""Uploaded files kept in an S3-compatible object store (FILE_STORAGE=s3), end to end against
moto's standalone server: a real S3 HTTP API on loopback, started by the test. Web and workers
then share no disk: the upload goes to the bucket, the pipeline streams it back, and nothing of
the file is left on the local disk."""

import csv
import io
import os
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.urls import reverse

from collections_app.models import Submission
from student_record.sample_data import write_student_record

from ..conftest import _service_missing

ROOT = Path(__file__).resolve().parent.parent.parent


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def s3_endpoint():
    try:
        from moto.server import ThreadedMotoServer
    except ImportError:
        _service_missing("needs moto's S3 server: pip install 'moto[server]' (a dev extra; CI has it)")
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def s3_storage(settings, s3_endpoint, monkeypatch):
    import boto3

    credentials = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}  # noqa: S105 (moto's)
    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="eu-west-2", **credentials)
    # moto keeps buckets in process-wide state, so each test has a bucket of its own.
    bucket = f"portal-uploads-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-2"})
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": bucket,
                "endpoint_url": s3_endpoint,
                "region_name": "eu-west-2",
                "access_key": credentials["aws_access_key_id"],
                "secret_key": credentials["aws_secret_access_key"],
                "default_acl": None,
                "file_overwrite": False,
            },
        },
    }
    return client, bucket


def test_upload_process_and_download_with_no_file_on_the_local_disk(
    s3_storage, settings, client, provider, provider_user, collection, django_capture_on_commit_callbacks
):
    out = io.StringIO()
    write_student_record(out, instances=120, recid="23051", instid=provider.instid, ukprn=provider.ukprn,
                         reporting_year=2023, seed=7, defect_rate=0.2)  # fmt: skip
    content = out.getvalue().encode()
    client.force_login(provider_user)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("collection_upload", args=[collection.reference]), {"file": io.BytesIO(content)})
    assert response.status_code == 302

    submission = Submission.objects.get()
    assert submission.status == "failed", submission.error_message
    assert submission.instance_count == 120
    # The file is in the bucket, byte for byte, and nowhere under MEDIA_ROOT.
    s3, bucket = s3_storage
    stored = s3.get_object(Bucket=bucket, Key=submission.file.name)["Body"].read()
    assert stored == content
    local_files = [p for p in settings.MEDIA_ROOT.rglob("*") if p.is_file()] if settings.MEDIA_ROOT.exists() else []
    assert local_files == []

    download = client.get(reverse("submission_failures_csv", args=[submission.pk]))
    rows = list(csv.reader(io.StringIO(b"".join(download.streaming_content).decode("utf-8-sig"))))
    assert rows[0][:3] == ["rule", "severity", "line"]
    assert len(rows) - 1 == sum(r.failure_count for r in submission.rule_results.all())


def test_a_rejected_file_is_located_from_the_store(
    s3_storage, client, provider, provider_user, collection, django_capture_on_commit_callbacks
):
    # A schema error sends the runner back to the file for a second, locating pass.
    content = b'<?xml version="1.0"?>\n<StudentRecord>\n  <Nonsense/>\n</StudentRecord>\n'
    client.force_login(provider_user)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("collection_upload", args=[collection.reference]), {"file": io.BytesIO(content)})
    submission = Submission.objects.get()
    assert submission.status == "rejected"
    assert submission.schema_errors.filter(line=3).exists()


def _settings_in_subprocess(**env):
    code = "import django; django.setup(); from django.conf import settings; print(settings.STORAGES['default'])"
    return subprocess.run(  # noqa: S603
        [sys.executable, "-c", code],
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "portal.settings", "DEBUG": "1", **env},
        capture_output=True,
        text=True,
        cwd=ROOT,
    )


def test_file_storage_setting_chooses_the_backend():
    s3 = _settings_in_subprocess(FILE_STORAGE="s3", S3_BUCKET="returns", S3_ENDPOINT_URL="http://s3.test")
    assert "storages.backends.s3.S3Storage" in s3.stdout and "'bucket_name': 'returns'" in s3.stdout, s3.stderr
    wrong = _settings_in_subprocess(FILE_STORAGE="ftp")
    assert wrong.returncode != 0 and "FILE_STORAGE must be 'filesystem' or 's3'" in wrong.stderr
