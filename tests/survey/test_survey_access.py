"""The survey platform's account, walked through every URL pattern the portal has: its token reaches the
survey feed and nothing else (the public API schema and docs, and the health endpoints, aside), and a
session of it (it has no password, but should one exist) gets 403 on every page."""

from __future__ import annotations

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from rest_framework.test import APIClient

from accounts import services as account_services
from accounts.models import Role

from .go_data import approve, contact_collection, contact_submission, email

SURVEY_ROUTES = {"api:survey-contacts"}
# The API's documentation and the health endpoints: public, answered to anyone.
PUBLIC = {"api-schema", "api-docs", "health-live", "health-ready"}
# Pages for anyone not signed in (sign in, reset a password by email): a token means nothing to
# them (anonymous: 200); a session gets 403.
SIGN_IN = {
    "login",
    "password_reset",
    "password_reset_done",
    "password_reset_confirm",
    "password_reset_complete",
}
SAMPLE = {
    "pk": "{pk}",
    "reference": "C23071",
    "ukprn": "10007794",
    "code": "GO.EMAIL.01",
    "husid": "9811681234562",
    "numhus": "1",
    "uidb64": "MQ",
    "token": "set-password",
    "table": "level",
    "category": "UG",
}


def named_routes() -> list[tuple[str, list[str]]]:
    """Every named route outside admin/, with its argument names."""
    found = []

    def walk(resolver, prefix, namespace):
        for pattern in resolver.url_patterns:
            text = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                walk(pattern, text, ":".join(n for n in (namespace, pattern.namespace) if n) or None)
            elif isinstance(pattern, URLPattern) and not text.startswith(("admin/", "^admin/")):
                assert pattern.name, f"unnamed route {text}"
                name = f"{namespace}:{pattern.name}" if namespace else pattern.name
                found.append((name, list(pattern.pattern.regex.groupindex)))

    walk(get_resolver(), "", None)
    return found


@pytest.fixture
def setup(provider, approver):
    survey = account_services.user_create(username="platform", role=Role.SURVEY_PLATFORM)
    token = account_services.survey_token_issue(user=survey)
    submission = contact_submission(provider, contact_collection(), [("1111111111111", "1", "", [email("a@b.com")])])
    approve(submission, approver)
    token_client = APIClient()
    token_client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    session_client = APIClient()
    session_client.force_login(survey)
    return {"pk": submission.pk, "token": token_client, "session": session_client}


def test_survey_account_gets_nothing_but_the_feed(setup):
    routes = named_routes()
    assert {name for name, _ in routes} >= SURVEY_ROUTES | {"dashboard", "api:submission-detail"}
    problems = []
    for name, args in routes:
        url = reverse(name, kwargs={arg: SAMPLE[arg].format(pk=setup["pk"]) for arg in args})
        for method in ("get", "post"):
            token = getattr(setup["token"], method)(url).status_code
            session = getattr(setup["session"], method)(url).status_code
            if name in SURVEY_ROUTES:
                expected_token = expected_session = 200 if method == "get" else 405
            elif name in PUBLIC:
                expected_token, expected_session = (200 if method == "get" else 405), 403
            elif name.startswith("api:"):
                expected_token = expected_session = 403
            else:
                # Pages ignore API tokens: the request is anonymous (sign in, or 405 for POST-only/GET-only
                # routes that say so first); a session is refused outright.
                expected_token, expected_session = None, 403
            if name in SIGN_IN:
                pass
            elif expected_token is None:
                if token == 200 or 200 < token < 300:
                    problems.append(f"{method.upper()} {url} with the token: {token}")
            elif token != expected_token:
                problems.append(f"{method.upper()} {url} with the token: {token}, expected {expected_token}")
            if session != expected_session:
                problems.append(f"{method.upper()} {url} as a session: {session}, expected {expected_session}")
    assert not problems, "\n".join(problems)


def test_the_refusal_says_the_account_is_for_the_feed_on_every_api_route(setup):
    """A read of a liaison-or-read-only resource (collections) used to say "Only agency liaison staff
    can change this." to the survey platform, which had changed nothing."""
    wrong = {}
    for name, args in named_routes():
        if not name.startswith("api:") or name in SURVEY_ROUTES | PUBLIC:
            continue
        url = reverse(name, kwargs={arg: SAMPLE[arg].format(pk=setup["pk"]) for arg in args})
        for method in ("get", "post"):
            response = getattr(setup["token"], method)(url, HTTP_ACCEPT="application/json")
            detail = response.json().get("detail") if response.status_code == 403 else response.status_code
            if detail != "This account may only use the survey feed.":
                wrong[f"{method.upper()} {url}"] = detail
    assert not wrong, wrong
