import os

import pytest
from django.db import connection

from . import factories

# Playwright's sync API runs an event loop in the test thread; the ORM calls the tests make
# around it are synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.EXPORT_CACHE_DIR = tmp_path / "exports"


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # The real hasher costs ~1 s per user; tests create hundreds.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _no_sign_in_lockouts(settings):
    """Tests sign in hundreds of times from one address: lockouts are off and API throttle
    counts start from zero in each test. tests/accounts/test_brute_force.py turns the real limits on."""
    from django.core.cache import cache

    settings.AXES_ENABLED = False
    cache.clear()


@pytest.fixture(autouse=True)
def _eager_tasks(settings):
    """Tasks run in-process unless a test starts a real worker (tests/collections_app/test_worker_postgres.py),
    even when CELERY_BROKER_URL points at Redis, as it does in CI."""
    from portal.celery import app

    saved = app.conf.task_always_eager
    app.conf.task_always_eager = settings.CELERY_TASK_ALWAYS_EAGER = True
    yield
    app.conf.task_always_eager = saved


@pytest.fixture
def provider(db):
    return factories.ProviderFactory(name="University of Gloucestershire", ukprn="10007794", instid="0168")


@pytest.fixture
def other_provider(db):
    return factories.ProviderFactory(name="Other University", ukprn="10000001", instid="0999")


@pytest.fixture
def provider_user(provider):
    return factories.UserFactory(provider=provider, username="pat")


@pytest.fixture
def approver(provider):
    return factories.ApproverFactory(provider=provider, username="alex")


@pytest.fixture
def other_user(other_provider):
    return factories.UserFactory(provider=other_provider, username="olly")


@pytest.fixture
def liaison(db):
    return factories.LiaisonFactory(username="lee")


@pytest.fixture
def collection(db):
    return factories.CollectionFactory()


def _service_missing(reason: str):
    """Skip where a service is absent, but fail in CI (REQUIRE_SERVICES=1): nothing skips there."""
    if os.environ.get("REQUIRE_SERVICES") == "1":
        pytest.fail(f"REQUIRE_SERVICES=1 but {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture
def require_postgres(db):
    if connection.vendor != "postgresql":
        _service_missing("needs PostgreSQL: set DATABASE_URL=postgres://... (CI does)")


@pytest.fixture
def require_redis(settings):
    url = settings.CELERY_BROKER_URL
    if not url or not url.startswith("redis"):
        _service_missing("needs Redis: set CELERY_BROKER_URL=redis://... (CI does)")
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis.exceptions.RedisError as exc:
        _service_missing(f"Redis at {url} is not answering: {exc}")
    return url


CHROMIUM = os.environ.get("PLAYWRIGHT_CHROMIUM", "/usr/bin/chromium")


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    # The system Chromium; `playwright install` cannot download browsers here.
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"],
    }


def _chromium_missing() -> None:
    _service_missing(f"needs Chromium at {CHROMIUM} (apt-get install chromium; .ci/run does)")


def pytest_runtest_setup(item):
    # Runs before any fixture: pytest-playwright's session-scoped `browser` would otherwise try
    # to launch a missing Chromium and error, before a fixture of ours could skip the test.
    uses_browser = item.get_closest_marker("browser") or {"page", "browser", "context"} & set(item.fixturenames)
    if uses_browser and not os.path.exists(CHROMIUM):
        _chromium_missing()


@pytest.fixture
def require_chromium():
    if not os.path.exists(CHROMIUM):
        _chromium_missing()


@pytest.fixture
def login(live_server):
    """Sign in through the real login form."""

    def sign_in(page, user, password=factories.PASSWORD):
        page.goto(f"{live_server.url}/login/")
        page.fill("input[name=username]", user.username)
        page.fill("input[name=password]", password)
        page.press("input[name=password]", "Enter")
        page.wait_for_load_state()

    return sign_in
