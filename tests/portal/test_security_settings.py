"""Production settings (issue 15, defect 8): no start without a SECRET_KEY unless DEBUG, secure
cookies, HSTS, proxy SSL header and a Content Security Policy the pages satisfy, all from the
environment; `check --deploy` is clean in a production-like environment."""

import json
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.test import Client

ROOT = Path(__file__).resolve().parent.parent.parent
SETTING_VARS = (
    "SECRET_KEY",
    "DEBUG",
    "ALLOWED_HOSTS",
    "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD",
    "SECURE_PROXY_SSL_HEADER",
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
    "TRUSTED_PROXY_COUNT",
    "AXES_FAILURE_LIMIT",
    "AXES_COOLOFF_MINUTES",
    "AXES_LOCKOUT_PARAMETERS",
    "API_THROTTLE_ANON",
    "API_THROTTLE_USER",
    "API_THROTTLE_BAD_TOKEN",
    "CACHE_URL",
    "DJANGO_ALLOW_ASYNC_UNSAFE",  # set by tests/conftest.py for Playwright; check --deploy refuses it
)


def run(*args, **env_vars) -> subprocess.CompletedProcess:
    """Run a Python snippet or manage.py with the portal's settings variables exactly as given."""
    env = {k: v for k, v in os.environ.items() if k not in SETTING_VARS}
    env.update(env_vars)
    return subprocess.run(  # noqa: S603 (our own interpreter and manage.py)
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def production(**overrides) -> dict:
    return {
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50)[:50],
        "ALLOWED_HOSTS": "portal.example",
        **overrides,
    }


def test_check_deploy_passes_with_a_production_environment():
    result = run(
        "manage.py",
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        **production(SECURE_SSL_REDIRECT="1", SECURE_HSTS_PRELOAD="1"),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_production_defaults_fix_the_deploy_warnings_the_issue_found():
    """HSTS (W004) and Secure session and CSRF cookies (W012, W016) come with DEBUG=0 alone; the
    HTTPS redirect (W008) and HSTS preload (W021) are the deployment's choice."""
    result = run("manage.py", "check", "--deploy", **production())
    found = set(re.findall(r"security\.W\d+", result.stdout + result.stderr))
    assert found == {"security.W008", "security.W021"}, result.stdout + result.stderr


def test_without_debug_a_missing_secret_key_stops_the_start_and_says_how_to_set_it():
    result = run("manage.py", "check", DEBUG="0")
    assert result.returncode != 0
    assert "ImproperlyConfigured: SECRET_KEY is not set. Set it in the environment or in .env" in result.stderr
    assert "secrets.token_urlsafe(50)" in result.stderr


def test_with_debug_the_demo_key_is_used():
    """./scripts/demo (and CI's demo smoke test) set DEBUG=1 and no key."""
    result = run("-c", "import django; django.setup(); from django.conf import settings; print(settings.SECRET_KEY)",
                 DEBUG="1", DJANGO_SETTINGS_MODULE="portal.settings")  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().startswith("insecure-demo-key")


def test_every_limit_and_https_setting_comes_from_the_environment():
    snippet = """
import json, django
django.setup()
from django.conf import settings as s
print(json.dumps({
    "axes": [s.AXES_FAILURE_LIMIT, s.AXES_COOLOFF_TIME.total_seconds(), s.AXES_LOCKOUT_PARAMETERS],
    "rates": s.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
    "proxies": s.REST_FRAMEWORK["NUM_PROXIES"],
    "https": [s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS, s.SECURE_HSTS_INCLUDE_SUBDOMAINS, s.SECURE_HSTS_PRELOAD,
              list(s.SECURE_PROXY_SSL_HEADER), s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE],
    "cache": s.CACHES["default"]["BACKEND"],
}))
"""
    result = run(
        "-c",
        snippet,
        **production(
            DJANGO_SETTINGS_MODULE="portal.settings",
            AXES_FAILURE_LIMIT="3",
            AXES_COOLOFF_MINUTES="2.5",
            AXES_LOCKOUT_PARAMETERS="username+ip_address,ip_address",
            API_THROTTLE_ANON="5/min",
            API_THROTTLE_USER="100/hour",
            API_THROTTLE_BAD_TOKEN="3/min",
            TRUSTED_PROXY_COUNT="1",
            SECURE_SSL_REDIRECT="1",
            SECURE_HSTS_SECONDS="600",
            SECURE_HSTS_INCLUDE_SUBDOMAINS="0",
            SECURE_HSTS_PRELOAD="1",
            SECURE_PROXY_SSL_HEADER="HTTP_X_FORWARDED_PROTO,https",
            CACHE_URL="redis://127.0.0.1:6379/9",
        ),
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == {
        "axes": [3, 150.0, [["username", "ip_address"], "ip_address"]],
        "rates": {"anon": "5/min", "user": "100/hour", "token_failure": "3/min"},
        "proxies": 1,
        "https": [True, 600, False, True, ["HTTP_X_FORWARDED_PROTO", "https"], True, True],
        "cache": "django.core.cache.backends.redis.RedisCache",
    }


# -- what the responses carry ---------------------------------------------------------------


@pytest.mark.django_db
def test_pages_carry_a_strict_content_security_policy(client):
    policy = client.get("/login/")["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert directives["default-src"] == "'self'"
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["object-src"] == "'none'"
    assert directives["frame-ancestors"] == "'none'"
    assert "unsafe" not in policy
    assert client.get("/api/docs/")["Content-Security-Policy"] == policy


@pytest.mark.django_db
def test_hsts_and_secure_cookies_over_https(client, provider_user):
    assert not django_settings.DEBUG
    response = client.post(
        "/login/", {"username": provider_user.username, "password": "correct horse battery staple"}, secure=True
    )
    assert response.status_code == 302
    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    assert response.cookies["sessionid"]["secure"] is True
    assert response.cookies["sessionid"]["httponly"] is True
    assert Client().get("/login/", secure=True).cookies["csrftoken"]["secure"] is True


INLINE = [
    (re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", re.I), "inline <script>"),
    (re.compile(r"<style\b", re.I), "<style> element"),
    (re.compile(r"\sstyle\s*=", re.I), "style= attribute"),
    (re.compile(r"\son[a-z]+\s*=", re.I), "on...= event handler attribute"),
    (re.compile(r"javascript:", re.I), "javascript: URL"),
]


def test_no_template_has_inline_script_or_style():
    """The CSP refuses them: scripts and styles belong in static files."""
    found = [
        f"{path.relative_to(ROOT)}: {what}"
        for path in sorted((ROOT / "templates").rglob("*.html"))
        for pattern, what in INLINE
        if pattern.search(path.read_text())
    ]
    assert found == []
