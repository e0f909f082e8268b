"""The README's test command must pass on a machine without Chromium, skipping (and naming) the
browser tests, and must fail in CI (REQUIRE_SERVICES=1) where they would be skipped."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent


def _run_browser_tests(tmp_path, **env_changes):
    env = {
        **os.environ,
        "PLAYWRIGHT_CHROMIUM": "/nonexistent/chromium",
        # Its own database: the inner run must never touch the outer run's test database.
        "DATABASE_URL": f"sqlite:///{tmp_path / 'inner.sqlite3'}",
        **env_changes,
    }
    env = {k: v for k, v in env.items() if v is not None}
    return subprocess.run(  # noqa: S603
        [sys.executable, "-m", "pytest", "-q", "tests/portal/test_browser_upload.py"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )


def test_browser_tests_skip_and_say_why_without_chromium(tmp_path):
    result = _run_browser_tests(tmp_path, REQUIRE_SERVICES=None)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 skipped" in result.stdout
    assert "needs Chromium at /nonexistent/chromium" in result.stdout


def test_browser_tests_fail_without_chromium_when_services_are_required(tmp_path):
    result = _run_browser_tests(tmp_path, REQUIRE_SERVICES="1")
    assert result.returncode != 0
    assert "REQUIRE_SERVICES=1 but needs Chromium" in result.stdout
