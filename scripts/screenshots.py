"""Take docs/screens/*.png from a fresh demo (see scripts/screenshots)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "screens"
PASSWORD = "demo-password-2024"  # noqa: S105 (the demo logins, published in the README)
WIDTHS = {"laptop": (1366, 900), "phone": (390, 844)}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _serve(env: dict) -> tuple[subprocess.Popen, str]:
    python = sys.executable
    for args in (["migrate", "--noinput", "-v0"], ["demo_data"]):
        subprocess.run([python, "manage.py", *args], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)  # noqa: S603
    port = _free_port()
    server = subprocess.Popen(  # noqa: S603
        [python, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            urllib.request.urlopen(f"{base}/login/", timeout=1)  # noqa: S310 (our own loopback server)
            return server, base
        except OSError:
            time.sleep(0.2)
    server.kill()
    raise SystemExit("the demo server did not start")


def _ids(env: dict) -> dict[str, str]:
    """Submission numbers of the demo's uploads, for the URLs."""
    code = (
        "from collections_app.models import Submission as S\n"
        "print(S.objects.get(collection__reference='C23051', provider__ukprn='10007794').pk,"
        " S.objects.filter(collection__reference='C23071').order_by('-pk').first().pk)"
    )
    command = [sys.executable, "manage.py", "shell", "-c", code]
    out = subprocess.run(command, cwd=ROOT, env=env, check=True, capture_output=True, text=True).stdout.split()  # noqa: S603
    return {"glos": out[-2], "contacts": out[-1]}


def main() -> None:
    chromium = os.environ.get("PLAYWRIGHT_CHROMIUM", "/usr/bin/chromium")
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            **os.environ,
            "DEBUG": "1",
            "DATABASE_URL": f"sqlite:///{tmp}/demo.sqlite3",
            "MEDIA_ROOT": f"{tmp}/media",
            "CELERY_BROKER_URL": "",
        }
        server, base = _serve(env)
        ids = _ids(env)
        shots = {
            "pat": [
                ("submission", f"/submissions/{ids['glos']}/"),
                ("hin-reports", f"/submissions/{ids['glos']}/hin/?report=A"),
            ],
            "sam": [
                ("contact-submission", f"/submissions/{ids['contacts']}/"),
                ("shared-details", "/collections/C23071/shared-details/"),
            ],  # fmt: skip
            "lee": [("grid", "/liaison/grid/"), ("provider", "/liaison/providers/10007794/")],
        }
        OUT.mkdir(parents=True, exist_ok=True)
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=chromium, args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
                )
                for user, pages in shots.items():
                    for width_name, (width, height) in WIDTHS.items():
                        page = browser.new_context(viewport={"width": width, "height": height}).new_page()
                        page.goto(f"{base}/login/")
                        page.fill("input[name=username]", user)
                        page.fill("input[name=password]", PASSWORD)
                        page.press("input[name=password]", "Enter")
                        page.wait_for_load_state()
                        for name, path in pages:
                            page.goto(base + path)
                            target = OUT / f"{name}-{width_name}.png"
                            page.screenshot(path=str(target), full_page=True)
                            print(target.relative_to(ROOT))
                browser.close()
        finally:
            server.terminate()
            server.wait(timeout=10)


if __name__ == "__main__":
    main()
