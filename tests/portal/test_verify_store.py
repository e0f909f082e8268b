"""`manage.py verify_store` (issue 14, backups): files against their SHA-256, rows against the
recorded counts; and a pg_dump / pg_restore round trip into a fresh database that passes it."""

import os
import shutil
import subprocess
import sys
import uuid
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.management import CommandError, call_command
from django.db import connection

from portal.retention import retention_run
from student_record.models import Instance

from .. import factories
from ..conftest import _service_missing
from .test_retention import age, upload

ROOT = Path(__file__).resolve().parents[2]


def run(*args, **kwargs):
    return subprocess.run(list(args), **kwargs)  # noqa: S603 (fixed commands, a test's own arguments)


@pytest.fixture
def years(db):
    prev = factories.CollectionFactory(reference="C22051", name="Student record 2022/23", reporting_year=2022)
    cur = factories.CollectionFactory(reference="C23051", name="Student record 2023/24", reporting_year=2023)
    return prev, cur


@pytest.fixture
def stored(years, provider, provider_user):
    _prev, year = years
    first = upload(provider, provider_user, year, failing=True, recid="23051")
    second = upload(provider, provider_user, year, failing=False, recid="23051")
    return first, second


def verify() -> str:
    out, err = StringIO(), StringIO()
    try:
        call_command("verify_store", stdout=out, stderr=err)
    except CommandError as exc:
        return f"FAILED {exc}\n{err.getvalue()}"
    return out.getvalue()


def test_a_consistent_store_passes(stored):
    assert "store verified" in verify()


def test_a_changed_file_is_caught(stored):
    first, _ = stored
    path = Path(first.file.path)
    path.write_bytes(path.read_bytes().replace(b"Smith", b"Smyth"))
    result = verify()
    assert result.startswith("FAILED 1 problem")
    assert f"submission {first.pk}: file" in result and "SHA-256" in result


def test_a_missing_file_is_caught(stored):
    _, second = stored
    Path(second.file.path).unlink()
    assert f"submission {second.pk}: file" in verify()


def test_a_missing_row_is_caught(stored):
    _, second = stored
    Instance.objects.filter(pk=Instance.objects.filter(submission=second).values("pk")[:1]).delete()
    result = verify()
    assert result.startswith("FAILED 1 problem")
    assert f"submission {second.pk}: sr_instance has 2 rows, recorded instance_count 3" in result


def test_archived_submissions_are_not_counted(stored):
    first, _ = stored
    age(first, 31)
    assert retention_run()
    assert "store verified" in verify()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_dump_and_restore_into_a_fresh_database_passes(require_postgres, stored, tmp_path):
    """The README's procedure: pg_dump -Fc, a copy of the file store, pg_restore into an empty
    database; verify_store against the restored database and files passes."""
    if not (shutil.which("pg_dump") and shutil.which("pg_restore")):
        _service_missing("needs pg_dump and pg_restore (postgresql-client; CI has them)")
    db = connection.settings_dict
    env = {**os.environ, "PGHOST": db["HOST"] or "127.0.0.1", "PGPORT": str(db["PORT"] or 5432),
           "PGUSER": db["USER"] or "postgres"}  # fmt: skip
    if db["PASSWORD"]:
        env["PGPASSWORD"] = db["PASSWORD"]
    dump = tmp_path / "portal.dump"
    run("pg_dump", "-Fc", "--no-owner", "-f", str(dump), db["NAME"], env=env, check=True)
    media_copy = tmp_path / "media-restored"
    shutil.copytree(django_settings.MEDIA_ROOT, media_copy)
    restored = f"restore_{uuid.uuid4().hex[:10]}"
    run("createdb", restored, env=env, check=True)
    try:
        run("pg_restore", "--no-owner", "--exit-on-error", "-d", restored, str(dump), env=env, check=True)
        password = f":{db['PASSWORD']}" if db["PASSWORD"] else ""
        url = f"postgres://{env['PGUSER']}{password}@{env['PGHOST']}:{env['PGPORT']}/{restored}"
        check = run(
            sys.executable,
            "manage.py",
            "verify_store",
            cwd=ROOT,
            env={**env, "DATABASE_URL": url, "MEDIA_ROOT": str(media_copy), "DEBUG": "1"},
            capture_output=True,
            text=True,
        )
        assert check.returncode == 0, check.stderr
        assert "store verified" in check.stdout
        # And it is a real check of the restored copy: a file changed there is caught.
        first, _ = stored
        changed = media_copy / first.file.name
        changed.write_bytes(changed.read_bytes() + b" ")
        check = run(
            sys.executable,
            "manage.py",
            "verify_store",
            cwd=ROOT,
            env={**env, "DATABASE_URL": url, "MEDIA_ROOT": str(media_copy), "DEBUG": "1"},
            capture_output=True,
            text=True,
        )
        assert check.returncode == 1 and f"submission {first.pk}: file" in check.stderr
    finally:
        run("dropdb", "--if-exists", restored, env=env, check=False)
