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


def needs_postgres():
    return pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs PostgreSQL: set DATABASE_URL=postgres://... (CI does)",
    )
