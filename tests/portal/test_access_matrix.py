"""The access matrix: every route, every role, the status each should get, and no other provider's data.

Every URL pattern the resolver knows (the API under /api/v1/ included) has an entry in MATRIX with
the status expected for GET, and for POST (and PUT/PATCH for the routes that take them) where the route takes it,
for five roles:

    anon      not signed in
    user      a provider user of provider A
    approver  a provider approver of provider A
    other     a provider user of provider B, using provider A's object ids
    liaison   agency liaison staff

Each route is requested with provider A's objects (submissions, queries, overrides, UKPRN). A write
the role may make must change the world (Ok(status)); a refused one (a plain status) must change
nothing at all: every row of every portal table is compared with the world as built. Each write
runs in a savepoint that is rolled back, so every check starts from the same world. Provider A's
and B's data carry marker strings (provider name, a surname, a HUSID); A's staff must never see
B's markers in a body, CSV or JSON, B's user never A's, and the anonymous user neither.

A route the resolver finds that is not in MATRIX fails the test: add its expected statuses. The API
routes are also cross-checked against the OpenAPI schema (paths and methods). The world is built
once for the module with the real pipeline (files uploaded per provider: failures, HIN findings,
an approved previous year, queries, override requests).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from django.apps import apps
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction
from django.test import Client, override_settings
from django.urls import URLPattern, URLResolver, get_resolver, resolve, reverse
from django.utils import timezone
from rest_framework.authtoken.models import Token

from accounts.forms import ProviderForm, UserForm
from collections_app.forms import CollectionForm
from collections_app.models import CollectionKind, RuleFailure, Submission, SubmissionStatus
from contacts.population import population_build
from credibility.models import CredibilityCell
from review import services as review_services
from student_record.sample_data import make_husid

from .. import factories
from ..contacts import helpers as contact_helpers
from ..hin.test_guidance_examples import process
from ..review_helpers import add_warnings, make_submission, temporary_rule
from ..survey.go_data import approve
from ..xmlbuild import instance, student, student_record

ROLES = ("anon", "user", "approver", "other", "liaison")
PASSWORD = factories.PASSWORD
PROJECT_APPS = {"accounts", "authtoken", "collections_app", "hin", "credibility", "review", "audit", "contacts"}
IGNORED_FIELDS = {("accounts", "user", "last_login")}  # signing in is not a change to the portal's data
MATRIX_RULES = ("MATRIX.W1", "MATRIX.W2")  # warning rules with a tolerance, for override requests
NEW_PASSWORD = "a-long-new-password-4-matrix"


class Ok(int):
    """An expected status for a write the role may make: the world must change."""

    def __repr__(self):
        return f"Ok({int(self)})"


# -- the world ------------------------------------------------------------------------------


@dataclass
class Side:
    """One provider's objects and the strings that mark its data."""

    provider: object
    user: object
    approver: object
    prev: Submission  # C22051, approved: sign-off and return act on it
    error: Submission  # C23051, stopped with a processing error: retry acts on it
    cur: Submission  # C23051's latest upload: failed, with rule failures, HIN findings and warnings
    passed: Submission  # C23052's latest upload, passed and clean: approval acts on it
    hin_warning: int = 0  # a report A warning of `cur`, for confirmation
    query_open: object = None
    query_answered: object = None
    override: object = None
    contact: Submission | None = None  # C23071 contact details, approved: coverage and the survey feed read it
    markers: tuple[str, ...] = ()
    husids: tuple[str, ...] = ()
    archived: Submission | None = None  # C23051, superseded, its records removed by retention: re-load acts on it
    contact: Submission | None = None  # C23071's current upload: graduates sharing an email


@dataclass
class World:
    a: Side
    b: Side
    liaison: object
    prev_collection: object
    collection: object
    other_collection: object
    contact_collection: object = None  # C22071, cohort A of the approved 2022/23 year: populations
    contacts: object = None  # C23071, cohort A: each side's approved contact details (feed, coverage, web form)
    survey: object = None  # the survey platform's service account (its token: liaison issues it)
    users: dict = field(default_factory=dict)
    clients: dict = field(default_factory=dict)  # signed in once for the module: sessions cost a write each
    baseline: str = ""


def _people(husids, surname, *, file: str) -> list[dict]:
    """Three students. `failed` changes one's gender (HIN report A) and gives another RSNLEAVE without
    DATELEFT (rule SR.DATE.02); `prev` and `clean` are the same people with the same data."""
    renamed, leaver, steady = husids
    return [
        student(instance(), HUSID=renamed, SURNAME=surname, GENDER="F" if file == "failed" else "M"),
        student(
            instance(NUMHUS="1", POSTCODE="BS1 4DJ", **({"RSNLEAVE": "01"} if file == "failed" else {})),
            HUSID=leaver,
            SURNAME=surname,
            BIRTHDTE="2001-01-01",
        ),
        student(instance(POSTCODE="GL1 1AA"), HUSID=steady, SURNAME=surname, BIRTHDTE="2002-02-02"),
    ]


def _side(letter, name, ukprn, instid, *, prev_collection, collection, other_collection) -> Side:
    surname = f"{name.split()[0]}son"  # the marker in the file, the users' names, file names and queries
    provider = factories.ProviderFactory(name=name, ukprn=ukprn, instid=instid)
    user = factories.UserFactory(provider=provider, username=f"{letter}_user", last_name=surname)
    approver = factories.ApproverFactory(provider=provider, username=f"{letter}_approver", last_name=surname)
    husids = [make_husid(2022, instid, n) for n in (1, 2, 3)]

    def file(kind, recid):
        return student_record(*_people(husids, surname, file=kind), recid=recid, instid=instid, ukprn=ukprn)

    prev = process(provider, user, prev_collection, file("prev", "22051"))
    review_services.submission_approve_historical(submission=prev, user=approver)
    error = factories.SubmissionFactory(
        provider=provider,
        collection=collection,
        uploaded_by=user,
        status=SubmissionStatus.ERROR,
        error_message="The worker was lost.",
        file=ContentFile(file("clean", "23051"), name="r.xml"),
    )
    archived = factories.SubmissionFactory(
        provider=provider,
        collection=collection,
        uploaded_by=user,
        status=SubmissionStatus.SUPERSEDED,
        finished_at=timezone.now(),
        records_archived_at=timezone.now(),
        file=ContentFile(file("clean", "23051"), name="r.xml"),
    )
    cur = process(provider, user, collection, file("failed", "23051"))
    # Approval only reads the verdict: no need to run the pipeline for it.
    passed = make_submission(provider, other_collection, uploaded_by=user, instances=3)
    assert (cur.status, passed.status) == ("failed", "passed")
    Submission.objects.filter(provider=provider).update(original_name=f"{surname}-return.xml")
    side = Side(provider, user, approver, prev, error, cur, passed, markers=(name, surname, husids[0], ukprn))
    side.husids = tuple(husids)
    side.archived = archived
    side.hin_warning = RuleFailure.objects.get(submission=cur, code="HIN5b").pk
    return side


def _review(side: Side, *, liaison) -> None:
    """Queries and override requests, once the files are processed (MATRIX_RULES registered)."""
    user, approver, cur = side.user, side.approver, side.cur
    for code in MATRIX_RULES:
        add_warnings(cur, code, 1)
    side.override = review_services.override_request(
        submission=cur, code=MATRIX_RULES[0], percent=100, justification="Right as it is.", user=user
    )
    marker = side.markers[1]
    side.query_open = review_services.query_raise(submission=cur, user=liaison, subject=f"{marker}?", body="Why?")
    side.query_answered = review_services.query_raise(submission=cur, user=liaison, subject=f"{marker}!", body="?")
    review_services.query_respond(query=side.query_answered, user=user, body="Because.")
    # A flagged figure to explain (three records a side flag nothing by themselves).
    CredibilityCell.objects.filter(submission=cur, table="level", category="UG").update(flagged=True)
    for someone in (user, approver):
        Token.objects.create(user=someone)
    assert not review_services.selectors.approval_refusals(submission=side.passed), "the world's upload approves"


def _build(rules: ExitStack) -> World:
    liaison = factories.LiaisonFactory(username="matrix_liaison")
    Token.objects.create(user=liaison)
    opens = timezone.now() - timedelta(days=30)
    prev_collection = factories.CollectionFactory(
        reference="C22051", name="Student record 2022/23", reporting_year=2022, opens=opens
    )
    collection = factories.CollectionFactory(
        reference="C23051", name="Student record 2023/24", reporting_year=2023, opens=opens
    )
    collection.previous = prev_collection
    collection.save(update_fields=["previous"])
    other_collection = factories.CollectionFactory(
        reference="C23052", name="Student record 2023/24, second return", reporting_year=2023, opens=opens
    )
    common = {"prev_collection": prev_collection, "collection": collection, "other_collection": other_collection}
    a = _side("alpha", "Alphaqz University", "10004710", "0471", **common)
    b = _side("bravo", "Bravoqz University", "10005820", "0582", **common)
    # Registered only now: the pipeline runs no rule of a test's making.
    for code in MATRIX_RULES:
        rules.enter_context(temporary_rule(code, percent=1))
    for side in (a, b):
        _review(side, liaison=liaison)
    # The collection's own tolerance for the second rule, as the default (nothing else changes), so
    # that resetting it to the default (DELETE) has something to remove.
    review_services.tolerance_set(collection=collection, code=MATRIX_RULES[1], user=liaison, percent=1)
    # Contact details (C23071): rows written as the loader would, with each side's HUSIDs, approved (the
    # survey feed and coverage read them); changes are uploads through the web form.
    contacts = contact_helpers.contact_collection()
    rules.enter_context(contact_helpers.contact_kind_registered())
    for side in (a, b):
        first, second, third = side.husids
        people = [
            contact_helpers.graduate(first, EMAIL=["family@example.com"]),
            contact_helpers.graduate(second, "1", EMAIL=["Family@Example.com"]),
            contact_helpers.graduate(third, UKMOB=["07700 900123"]),
        ]
        side.contact = contact_helpers.contact_submission(side.provider, contacts, side.user, people)
        approve(side.contact, side.approver)
    world = World(a, b, liaison, prev_collection, collection, other_collection)
    world.contacts = contacts
    # Each side's population of a cohort of the approved year (the approvals' on-commit rebuild
    # never runs inside this transaction: built by hand).
    world.contact_collection = factories.CollectionFactory(
        reference="C22071",
        name="Graduate Outcomes 2022/23 cohort A",
        kind=CollectionKind.CONTACT_DETAILS,
        reporting_year=2022,
        cohort="A",
        opens=opens,
    )
    for side in (a, b):
        population_build(provider=side.provider, collection=world.contact_collection)
    world.survey = factories.UserFactory(username="matrix_survey", role="survey_platform", provider=None)
    world.users = {"anon": None, "user": a.user, "approver": a.approver, "other": b.user, "liaison": liaison}
    world.clients = {role: _signed_in(user) for role, user in world.users.items() if user is not None}
    world.baseline = snapshot()
    return world


def _portal_models():
    return [
        model
        for model in sorted(apps.get_models(), key=lambda m: m._meta.label)
        if model._meta.app_label in PROJECT_APPS and not model._meta.proxy
    ]


def _ignored(model) -> list[str]:
    meta = model._meta
    return [f.attname for f in meta.concrete_fields if (meta.app_label, meta.model_name, f.name) in IGNORED_FIELDS]


def snapshot() -> str:
    """A digest of every row of every portal table (sessions and last_login aside)."""
    if connection.vendor == "postgresql":
        # One round trip: each table's rows as JSON, in key order, hashed by the server.
        parts = []
        for model in _portal_models():
            table, pk = connection.ops.quote_name(model._meta.db_table), model._meta.pk.column
            row = "to_jsonb(t)" + "".join(f" - '{name}'" for name in _ignored(model))
            parts.append(f"(SELECT md5(coalesce(string_agg(({row})::text, '|' ORDER BY t.{pk}), '')) FROM {table} t)")
        with connection.cursor() as cursor:
            cursor.execute("SELECT " + " || ".join(parts))
            return cursor.fetchone()[0]
    digest = hashlib.sha256()
    for model in _portal_models():
        names = [f.attname for f in model._meta.concrete_fields if f.attname not in _ignored(model)]
        for row in model._base_manager.order_by("pk").values_list(*names):
            digest.update(repr((model._meta.label, row)).encode())
    return digest.hexdigest()


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker, tmp_path_factory, request):
    """Built once, inside a transaction rolled back when the module ends (each test's own
    transaction nests inside it)."""
    settings = override_settings(
        MEDIA_ROOT=str(tmp_path_factory.mktemp("matrix-media")),
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
    )
    with django_db_blocker.unblock(), settings, ExitStack() as rules, transaction.atomic():
        yield _build(rules)
        transaction.set_rollback(True)
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if reporter is not None and capture is not None:
        with capture.global_and_fixture_disabled():
            reporter.write_line(f"\naccess matrix: {CHECKS['count']} access checks run")


CHECKS = {"count": 0}


# -- request data ---------------------------------------------------------------------------


def _form_data(form, **changes) -> dict:
    """What a browser would post for a bound-to-instance form, with `changes`."""
    data = {}
    for bound in form:
        value = bound.value()
        if isinstance(value, bool):
            if value:
                data[bound.name] = "on"
            continue
        shown = bound.field.widget.format_value(value)
        if shown not in (None, ""):
            data[bound.name] = shown
    data.update(changes)
    return data


def _upload(w: World) -> dict:
    return {
        "file": SimpleUploadedFile("new.xml", student_record(student()), content_type="application/xml"),
        "provider": w.a.provider.ukprn,  # liaison name the provider; provider staff's own is used anyway
    }


def _new_collection(w: World) -> dict:
    now = timezone.localtime()
    return {
        "reference": "C24051",
        "name": "Student record 2024/25",
        "kind": "student_record",
        "reporting_year": 2024,
        "opens": (now + timedelta(days=10)).strftime("%Y-%m-%dT%H:%M"),
        "approval_deadline": (now + timedelta(days=100)).strftime("%Y-%m-%dT%H:%M"),
    }


def _new_user(w: World) -> dict:
    return {
        "username": "newperson",
        "first_name": "New",
        "last_name": "Person",
        "email": "new@alphaqz.ac.uk",
        "role": "provider_user",
        "provider": w.a.provider.pk,
        "is_active": "on",
        "password1": NEW_PASSWORD,
        "password2": NEW_PASSWORD,
    }


def _api_collection(w: World) -> dict:
    now = timezone.now()
    return {
        "reference": "C24051",
        "name": "Student record 2024/25",
        "kind": "student_record",
        "reporting_year": 2024,
        "opens": (now + timedelta(days=10)).isoformat(),
        "approval_deadline": (now + timedelta(days=100)).isoformat(),
    }


# -- the matrix -----------------------------------------------------------------------------


@dataclass
class Route:
    """Expected statuses in ROLES order. `post` None: the route takes no POST (405 once signed in;
    anonymous callers are turned away first, as for GET). `json`: the write's body is JSON."""

    kwargs: Callable[[World], dict] | None
    get: tuple
    post: tuple | None = None
    data: Callable[[World], dict] | None = None
    patch: tuple | None = None
    put: tuple | None = None
    delete: tuple | None = None
    json: bool = False


A_SUBMISSION = lambda w: {"pk": w.a.cur.pk}  # noqa: E731
A_PASSED = lambda w: {"pk": w.a.passed.pk}  # noqa: E731
A_ERROR = lambda w: {"pk": w.a.error.pk}  # noqa: E731
A_CELL = lambda w: {"pk": w.a.cur.pk, "table": "level", "category": "UG"}  # noqa: E731
A_ARCHIVED = lambda w: {"pk": w.a.archived.pk}  # noqa: E731
A_QUERY_OPEN = lambda w: {"pk": w.a.query_open.pk}  # noqa: E731
A_QUERY_ANSWERED = lambda w: {"pk": w.a.query_answered.pk}  # noqa: E731
A_OVERRIDE = lambda w: {"pk": w.a.override.pk}  # noqa: E731
COLLECTION = lambda w: {"reference": w.collection.reference}  # noqa: E731
RULE = lambda w: {"reference": w.collection.reference, "code": MATRIX_RULES[1]}  # noqa: E731
A_CONTACT = lambda w: {"pk": w.a.contact.pk}  # noqa: E731
SURVEY_USER = lambda w: {"pk": w.survey.pk}  # noqa: E731
CONTACTS = lambda w: {"reference": w.contacts.reference}  # noqa: E731
A_GRADUATE = lambda w: {"reference": w.contacts.reference, "husid": w.a.husids[0], "numhus": "1"}  # noqa: E731
A_PREVIOUS_YEAR = lambda w: {"ukprn": w.a.provider.ukprn, "reference": w.prev_collection.reference}  # noqa: E731
CONTACT = lambda w: {"reference": w.contact_collection.reference}  # noqa: E731
A_PROVIDER = lambda w: {"provider": w.a.provider.ukprn}  # noqa: E731

# Shorthands: who reads provider A's submission-scoped data (B's user gets 404, never 403).
WEB_A_DATA = (302, 200, 200, 404, 200)
API_A_DATA = (401, 200, 200, 404, 200)
WEB_SIGNED_IN = (302, 200, 200, 200, 200)
API_SIGNED_IN = (401, 200, 200, 200, 200)
WEB_LIAISON = (302, 403, 403, 403, 200)
WEB_POST_ONLY = (302, 405, 405, 405, 405)
WEB_LIAISON_POST_ONLY = (302, 403, 403, 403, 405)
API_POST_ONLY = (401, 405, 405, 405, 405)

MATRIX: dict[str, Route] = {
    # -- sign-in and landing
    "home": Route(None, get=(302, 302, 302, 302, 302), post=(302, 302, 302, 302, 302)),
    "login": Route(
        None,
        get=(200, 302, 302, 302, 302),
        post=(302, 302, 302, 302, 302),
        data=lambda w: {"username": w.a.user.username, "password": PASSWORD},
    ),
    "logout": Route(None, get=(405, 405, 405, 405, 405), post=(302, 302, 302, 302, 302)),
    "dashboard": Route(None, get=(302, 200, 200, 200, 302), post=(302, 200, 200, 200, 302)),
    "account": Route(None, get=WEB_SIGNED_IN, post=WEB_SIGNED_IN),
    "token_create": Route(None, get=(405,) * 5, post=(302, Ok(302), Ok(302), Ok(302), Ok(302))),
    "token_revoke": Route(None, get=(405,) * 5, post=(302, Ok(302), Ok(302), Ok(302), Ok(302))),
    # Every signed-in role saves its own email choices (none ticked: every kind offered turns off).
    "notification_preferences": Route(None, get=(405,) * 5, post=(302, Ok(302), Ok(302), Ok(302), Ok(302))),
    # -- passwords and two-step sign-in (nobody in the world has an authenticator app)
    "password_change": Route(
        None,
        get=WEB_SIGNED_IN,
        post=(302, Ok(302), Ok(302), Ok(302), Ok(302)),
        data=lambda w: {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    ),
    "password_reset": Route(
        None, get=(200,) * 5, post=(302,) * 5, data=lambda w: {"email": w.a.user.email}
    ),  # emails a link; changes nothing
    "password_reset_done": Route(None, get=(200,) * 5, post=(405,) * 5),
    "password_reset_confirm": Route(
        lambda w: {"uidb64": "MQ", "token": "set-password"}, get=(200,) * 5, post=(200,) * 5
    ),  # a link that does not work: the same page for everyone
    "password_reset_complete": Route(None, get=(200,) * 5, post=(405,) * 5),
    "otp_verify": Route(None, get=(302,) * 5, post=(302,) * 5),  # no app: straight on
    "otp_setup": Route(None, get=WEB_SIGNED_IN, post=WEB_SIGNED_IN),  # no code: the form again
    "otp_remove": Route(None, get=(302,) * 5, post=(302,) * 5),  # no app: back to the account page
    "otp_reset": Route(
        lambda w: {"pk": w.a.user.pk}, get=(405,) * 5, post=(302, 403, 403, 403, 302)
    ),  # they have no app: nothing to remove
    # -- liaison management
    "liaison_home": Route(None, get=WEB_LIAISON, post=WEB_LIAISON),
    "provider_create": Route(
        None,
        get=WEB_LIAISON,
        post=(302, 403, 403, 403, Ok(302)),
        data=lambda w: {"name": "Charlieqz University", "ukprn": "10006930", "instid": "0693"},
    ),
    "provider_edit": Route(
        lambda w: {"pk": w.a.provider.pk},
        get=WEB_LIAISON,
        post=(302, 403, 403, 403, Ok(302)),
        data=lambda w: _form_data(ProviderForm(instance=w.a.provider), name="Alphaqz University (renamed)"),
    ),
    "user_list": Route(None, get=WEB_LIAISON, post=WEB_LIAISON),
    "user_create": Route(None, get=WEB_LIAISON, post=(302, 403, 403, 403, Ok(302)), data=_new_user),
    "user_edit": Route(
        lambda w: {"pk": w.a.user.pk},
        get=WEB_LIAISON,
        post=(302, 403, 403, 403, Ok(302)),
        data=lambda w: _form_data(UserForm(instance=w.a.user), first_name="Renamed"),
    ),
    "survey_token_issue": Route(SURVEY_USER, get=(405,) * 5, post=(302, 403, 403, 403, Ok(302))),
    "collection_create": Route(None, get=WEB_LIAISON, post=(302, 403, 403, 403, Ok(302)), data=_new_collection),
    "collection_edit": Route(
        COLLECTION,
        get=WEB_LIAISON,
        post=(302, 403, 403, 403, Ok(302)),
        data=lambda w: _form_data(CollectionForm(instance=w.collection), name="Student record 2023/24 (renamed)"),
    ),
    # -- collections and submissions. B's user uploads for B (the reference is shared); liaison never upload.
    "collection_detail": Route(COLLECTION, get=WEB_SIGNED_IN),
    "collection_upload": Route(COLLECTION, get=WEB_POST_ONLY, post=(302, Ok(302), Ok(302), Ok(302), 302), data=_upload),
    "submission_detail": Route(A_SUBMISSION, get=WEB_A_DATA),
    "submission_status": Route(A_SUBMISSION, get=WEB_A_DATA),
    "submission_retry": Route(A_ERROR, get=WEB_POST_ONLY, post=(302, Ok(302), Ok(302), 404, Ok(302))),
    "submission_reload": Route(A_ARCHIVED, get=WEB_POST_ONLY, post=(302, Ok(302), Ok(302), 404, Ok(302))),
    "submission_failures": Route(A_SUBMISSION, get=WEB_A_DATA),
    "submission_failures_csv": Route(A_SUBMISSION, get=WEB_A_DATA),
    "submission_schema_errors_csv": Route(A_SUBMISSION, get=WEB_A_DATA),
    # -- HIN: the provider's staff confirm warnings; liaison read them (refused with a message)
    "hin_report": Route(
        A_SUBMISSION,
        get=WEB_A_DATA,
        post=(302, Ok(302), Ok(302), 404, 302),
        data=lambda w: {"failure": [w.a.hin_warning], "reason": "Gender corrected"},
    ),
    "hin_report_csv": Route(A_SUBMISSION, get=WEB_A_DATA),
    "hin_target_list": Route(A_SUBMISSION, get=WEB_A_DATA),
    "hin_target_list_csv": Route(A_SUBMISSION, get=WEB_A_DATA),
    # -- credibility: the provider's staff explain a figure; liaison set the threshold (and read)
    "credibility": Route(A_SUBMISSION, get=WEB_A_DATA),
    "credibility_csv": Route(A_SUBMISSION, get=WEB_A_DATA),
    "credibility_cell": Route(A_CELL, get=WEB_A_DATA),
    "credibility_cell_csv": Route(A_CELL, get=WEB_A_DATA),
    "credibility_explain": Route(
        A_SUBMISSION,
        get=WEB_POST_ONLY,
        post=(302, Ok(302), Ok(302), 404, 302),
        data=lambda w: {"table": "level", "category": "UG", "text": "A new course opened."},
    ),
    "credibility_threshold": Route(
        COLLECTION,
        get=WEB_POST_ONLY,
        post=(302, 302, 302, 302, Ok(302)),
        data=lambda w: {"percent": "15", "min_records": "5"},
    ),
    # Re-run in place: the provider's staff on their current submission, liaison on any.
    "submission_rerun": Route(A_SUBMISSION, get=WEB_POST_ONLY, post=(302, Ok(302), Ok(302), 404, Ok(302))),
    # -- contact details coverage
    "submission_coverage": Route(A_CONTACT, get=WEB_A_DATA),
    "submission_coverage_nothing_usable_csv": Route(A_CONTACT, get=WEB_A_DATA),
    "submission_recheck": Route(A_SUBMISSION, get=WEB_POST_ONLY, post=(302, Ok(302), Ok(302), 404, 302)),
    # -- contact details: each side reads and changes its own; liaison read a provider's (?provider=) and
    # change nothing; without ?provider they are shown the provider picker, or sent to it
    "shared_details": Route(
        CONTACTS,
        get=WEB_SIGNED_IN,
        post=(302, Ok(302), Ok(302), Ok(302), 302),
        data=lambda w: {"family": "email", "normalised": "family@example.com", "reason": "family_email"},
    ),
    "shared_details_csv": Route(CONTACTS, get=(302, 200, 200, 200, 302)),
    "graduate_list": Route(CONTACTS, get=WEB_SIGNED_IN),
    "graduate_new": Route(
        CONTACTS,
        get=(302, 200, 200, 200, 302),
        post=(302, Ok(302), Ok(302), Ok(302), 302),
        data=lambda w: {"husid": "1999999999999", "numhus": "1", "email_1": "new@example.com"},
    ),
    "graduate_edit": Route(
        A_GRADUATE,
        get=(302, 200, 200, 404, 302),
        post=(302, Ok(302), Ok(302), 404, 302),
        data=lambda w: {"email_1": "changed@example.com"},
    ),
    "graduate_delete": Route(A_GRADUATE, get=(302, 200, 200, 404, 302), post=(302, Ok(302), Ok(302), 404, 302)),
    # -- audit
    "audit_log": Route(None, get=WEB_SIGNED_IN),
    "audit_log_csv": Route(None, get=WEB_SIGNED_IN),
    # -- review: refusals are a message on the page the user came from (302, nothing changed)
    "collection_tolerances": Route(
        COLLECTION,
        get=WEB_SIGNED_IN,
        post=(302, 403, 403, 403, Ok(302)),
        data=lambda w: {"code": MATRIX_RULES[1], "value": "2", "unit": "percent"},
    ),
    "submission_approve": Route(A_PASSED, get=WEB_POST_ONLY, post=(302, 302, Ok(302), 404, 302)),
    "override_request": Route(
        A_SUBMISSION,
        get=WEB_POST_ONLY,
        post=(302, Ok(302), Ok(302), 404, 302),
        data=lambda w: {"code": MATRIX_RULES[1], "percent": "100", "justification": "Right as it is."},
    ),
    "query_raise": Route(
        A_SUBMISSION,
        get=WEB_POST_ONLY,
        post=(302, 302, 302, 404, Ok(302)),
        data=lambda w: {"subject": "A question", "body": "Please check."},
    ),
    "override_list": Route(None, get=WEB_LIAISON, post=WEB_LIAISON_POST_ONLY),
    "override_decide": Route(
        A_OVERRIDE,
        get=WEB_LIAISON_POST_ONLY,
        post=(302, 403, 403, 403, Ok(302)),
        data=lambda w: {"decision": "approve"},
    ),
    "query_list": Route(None, get=WEB_SIGNED_IN),
    "query_detail": Route(A_QUERY_OPEN, get=WEB_A_DATA),
    "query_respond": Route(
        A_QUERY_OPEN, get=WEB_POST_ONLY, post=(302, Ok(302), Ok(302), 404, 302), data=lambda w: {"body": "Fixed."}
    ),
    "query_accept": Route(A_QUERY_OPEN, get=WEB_POST_ONLY, post=(302, 302, 302, 404, Ok(302))),
    "query_reopen": Route(
        A_QUERY_ANSWERED,
        get=WEB_POST_ONLY,
        post=(302, 302, 302, 404, Ok(302)),
        data=lambda w: {"body": "Not yet."},
    ),
    "collection_sign_off": Route(A_PREVIOUS_YEAR, get=WEB_LIAISON_POST_ONLY, post=(302, 403, 403, 403, Ok(302))),
    "collection_return": Route(
        A_PREVIOUS_YEAR,
        get=WEB_LIAISON_POST_ONLY,
        post=(302, 403, 403, 403, Ok(302)),
        data=lambda w: {"subject": "Returned", "body": "Please look again."},
    ),
    # -- Graduate Outcomes populations: each provider's staff their own (naming another is 404); liaison
    # choose a provider with ?provider= (without one: the chooser page, or 400 from the API).
    "collection_population": Route(CONTACT, get=WEB_SIGNED_IN),
    "collection_population_csv": Route(CONTACT, get=(302, 200, 200, 200, 404)),
    "collection_population_xml": Route(CONTACT, get=(302, 200, 200, 200, 404)),
    "collection_population_rebuild": Route(
        CONTACT, get=WEB_POST_ONLY, post=(302, Ok(302), Ok(302), 404, Ok(302)), data=A_PROVIDER
    ),
    "api:collection-population": Route(CONTACT, get=(401, 200, 200, 200, 400)),
    "api:collection-population-xml": Route(CONTACT, get=(401, 200, 200, 200, 400)),
    "liaison_grid": Route(None, get=WEB_LIAISON, post=WEB_LIAISON_POST_ONLY),
    "liaison_grid_csv": Route(None, get=WEB_LIAISON, post=WEB_LIAISON_POST_ONLY),
    "liaison_provider": Route(lambda w: {"ukprn": w.a.provider.ukprn}, get=WEB_LIAISON, post=WEB_LIAISON_POST_ONLY),
    # -- health (public: tasks run eagerly here, so broker and worker are "not configured" and the
    # portal is ready) and metrics (404 for everyone: no METRICS_TOKEN in the tests' settings)
    "health-live": Route(None, get=(200,) * 5, post=(405,) * 5),
    "health-ready": Route(None, get=(200,) * 5, post=(405,) * 5),
    "metrics": Route(None, get=(404,) * 5, post=(405,) * 5),
    # -- API documentation: public, no data
    "api-schema": Route(None, get=(200,) * 5, post=(405,) * 5),
    "api-docs": Route(None, get=(200,) * 5, post=(405,) * 5),
    # -- API v1
    "api:provider-list": Route(None, get=API_SIGNED_IN),
    "api:provider-detail": Route(lambda w: {"ukprn": w.a.provider.ukprn}, get=API_A_DATA),
    "api:collection-list": Route(
        None, get=API_SIGNED_IN, post=(401, 403, 403, 403, Ok(201)), data=_api_collection, json=True
    ),
    "api:collection-detail": Route(
        COLLECTION,
        get=API_SIGNED_IN,
        post=(401, 403, 403, 403, 405),  # DRF checks the role before the method
        patch=(401, 403, 403, 403, Ok(200)),
        data=lambda w: {"name": "Student record 2023/24 (renamed)"},
        json=True,
    ),
    "api:collection-submissions": Route(
        COLLECTION, get=API_SIGNED_IN, post=(401, Ok(202), Ok(202), Ok(202), 403), data=_upload
    ),
    "api:submission-detail": Route(A_SUBMISSION, get=API_A_DATA),
    "api:submission-retry": Route(A_ERROR, get=API_POST_ONLY, post=(401, Ok(202), Ok(202), 404, Ok(202))),
    "api:submission-rerun": Route(A_SUBMISSION, get=API_POST_ONLY, post=(401, Ok(202), Ok(202), 404, Ok(202))),
    "api:submission-credibility": Route(A_SUBMISSION, get=API_A_DATA),
    "api:submission-credibility-csv": Route(A_SUBMISSION, get=API_A_DATA),
    "api:submission-failures": Route(A_SUBMISSION, get=API_A_DATA),
    "api:submission-schema-errors": Route(A_SUBMISSION, get=API_A_DATA),
    "api:submission-failures-csv": Route(A_SUBMISSION, get=API_A_DATA),
    "api:submission-schema-errors-csv": Route(A_SUBMISSION, get=API_A_DATA),
    "api:submission-hin-report": Route(A_SUBMISSION, get=API_A_DATA),
    "api:submission-hin-report-confirm": Route(
        A_SUBMISSION,
        get=API_POST_ONLY,
        post=(401, Ok(200), Ok(200), 404, 403),
        data=lambda w: {"failures": [w.a.hin_warning], "reason": "Gender corrected"},
        json=True,
    ),
    "api:submission-hin-report-confirm-matching": Route(
        A_SUBMISSION,
        get=API_POST_ONLY,
        post=(401, Ok(200), Ok(200), 404, 403),
        data=lambda w: {"report": "A", "reason": "Gender corrected"},
        json=True,
    ),
    "api:submission-hin-report-csv": Route(A_SUBMISSION, get=API_A_DATA),
    "api:submission-hin-target-list": Route(A_SUBMISSION, get=API_A_DATA),
    "api:submission-hin-target-list-csv": Route(A_SUBMISSION, get=API_A_DATA),
    "api:audit-list": Route(None, get=API_SIGNED_IN),
    "api:submission-coverage": Route(A_CONTACT, get=API_A_DATA),
    # The survey platform's feed: provider staff are refused; liaison may read it, for support.
    "api:survey-contacts": Route(
        lambda w: {"reference": "C23071"},
        get=(401, 403, 403, 403, 200),
        post=(401, 403, 403, 403, 405),  # DRF checks the role before the method
    ),
    "api:root": Route(None, get=API_SIGNED_IN),
    "api:submission-approve": Route(A_PASSED, get=API_A_DATA, post=(401, 403, Ok(201), 404, 403)),
    "api:submission-overrides": Route(
        A_SUBMISSION,
        get=API_A_DATA,
        post=(401, Ok(201), Ok(201), 404, 403),
        data=lambda w: {"code": MATRIX_RULES[1], "percent": "100", "justification": "Right as it is."},
        json=True,
    ),
    "api:override-decide": Route(
        A_OVERRIDE,
        get=API_POST_ONLY,
        post=(401, 403, 403, 404, Ok(200)),
        data=lambda w: {"approve": True},
        json=True,
    ),
    "api:query-list": Route(
        None,
        get=API_SIGNED_IN,
        post=(401, 403, 403, 403, Ok(201)),
        data=lambda w: {"submission": w.a.cur.pk, "subject": "A question", "body": "Please check."},
        json=True,
    ),
    "api:query-detail": Route(A_QUERY_OPEN, get=API_A_DATA),
    "api:query-respond": Route(
        A_QUERY_OPEN,
        get=API_POST_ONLY,
        post=(401, Ok(200), Ok(200), 404, 403),
        data=lambda w: {"body": "Fixed."},
        json=True,
    ),
    "api:query-accept": Route(A_QUERY_OPEN, get=API_POST_ONLY, post=(401, 403, 403, 404, Ok(200)), json=True),
    "api:query-reopen": Route(
        A_QUERY_ANSWERED,
        get=API_POST_ONLY,
        post=(401, 403, 403, 404, Ok(200)),
        data=lambda w: {"body": "Not yet."},
        json=True,
    ),
    "api:collection-sign-off": Route(A_PREVIOUS_YEAR, get=API_POST_ONLY, post=(401, 403, 403, 404, Ok(201))),
    "api:collection-return": Route(
        A_PREVIOUS_YEAR,
        get=API_POST_ONLY,
        post=(401, 403, 403, 404, Ok(201)),
        data=lambda w: {"subject": "Returned", "body": "Please look again."},
        json=True,
    ),
    "api:review-grid": Route(None, get=API_SIGNED_IN),
    # Liaison name the provider with ?ukprn= (400 without it) and change nothing (403).
    "api:collection-shared-details": Route(
        CONTACTS,
        get=(401, 200, 200, 200, 400),
        post=(401, Ok(200), Ok(200), Ok(200), 403),
        data=lambda w: {"family": "email", "normalised": "family@example.com", "reason": "family_email"},
        json=True,
    ),
    "api:collection-graduates": Route(
        CONTACTS,
        get=(401, 200, 200, 200, 400),
        post=(401, Ok(202), Ok(202), Ok(202), 403),
        data=lambda w: {"husid": "1999999999999", "numhus": "1", "details": {"EMAIL": ["new@example.com"]}},
        json=True,
    ),
    "api:collection-graduate": Route(
        A_GRADUATE,
        get=(401, 200, 200, 404, 400),
        put=(401, Ok(202), Ok(202), 404, 403),
        delete=(401, Ok(202), Ok(202), 404, 403),
        data=lambda w: {"details": {"EMAIL": ["changed@example.com"]}},
        json=True,
    ),
    "api:collection-tolerances": Route(COLLECTION, get=API_SIGNED_IN),
    "api:collection-tolerance": Route(
        RULE,
        get=API_SIGNED_IN,
        put=(401, 403, 403, 403, Ok(200)),
        patch=(401, 403, 403, 403, Ok(200)),
        delete=(401, 403, 403, 403, Ok(200)),  # back to the rule's default
        data=lambda w: {"percent": "2"},
        json=True,
    ),
}


# -- the resolver's routes --------------------------------------------------------------------


def resolver_routes() -> dict[str, str]:
    """Every URL pattern outside admin/: qualified name (or the pattern, if unnamed) -> pattern."""
    found: dict[str, str] = {}

    def walk(resolver, prefix, namespace):
        for pattern in resolver.url_patterns:
            text = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                walk(pattern, text, ":".join(n for n in (namespace, pattern.namespace) if n) or None)
            elif isinstance(pattern, URLPattern) and not text.startswith("admin/"):
                name = f"{namespace}:{pattern.name}" if namespace and pattern.name else pattern.name
                found[name or text] = text

    walk(get_resolver(), "", None)
    return found


def admin_routes() -> list[tuple[str, dict]]:
    """Named admin routes with sample arguments."""
    routes = []

    def walk(resolver, prefix, namespace):
        for pattern in resolver.url_patterns:
            text = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                walk(pattern, text, ":".join(n for n in (namespace, pattern.namespace) if n) or None)
            elif text.startswith("admin/") and pattern.name:
                kwargs = {name: "1" for name in pattern.pattern.regex.groupindex}
                if "app_label" in kwargs:
                    kwargs["app_label"] = "accounts"
                routes.append((f"{namespace}:{pattern.name}", kwargs))

    walk(get_resolver(), "", None)
    return routes


ROUTES = resolver_routes()
# These change the client's session (a password change gives it a new key): a new client each time.
SIGNS_IN_OR_OUT = {"login", "logout", "password_change"}


# -- making requests --------------------------------------------------------------------------


def _signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def client_for(w: World, role: str, *, fresh: bool = False) -> Client:
    """The role's module-wide client, or a new one for requests that change who is signed in."""
    if w.users[role] is None:
        return Client()
    return _signed_in(w.users[role]) if fresh else w.clients[role]


def body_of(response) -> str:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content).decode("utf-8", "replace")
    return response.content.decode("utf-8", "replace")


def forbidden_markers(w: World, role: str) -> tuple[str, ...]:
    """What `role` must never see: the other provider's markers (both, for the anonymous user)."""
    return {"anon": w.a.markers + w.b.markers, "user": w.b.markers, "approver": w.b.markers, "other": w.a.markers}.get(
        role, ()
    )


def check(w: World, name: str, role: str, method: str, url: str, expected: int, route: Route) -> list[str]:
    """One request; the problems found (none when it went as the matrix says)."""
    CHECKS["count"] += 1
    client = client_for(w, role, fresh=name in SIGNS_IN_OR_OUT)
    problems = []
    with transaction.atomic():
        data = route.data(w) if route.data and method != "get" else {}
        if method == "get":
            response = client.get(url)
        elif route.json:
            response = getattr(client, method)(url, data, content_type="application/json")
        else:
            response = getattr(client, method)(url, data)
        body = body_of(response)
        changed = method != "get" and snapshot() != w.baseline
        transaction.set_rollback(True)
    where = f"{method.upper()} {url} as {role}"
    if response.status_code != int(expected):
        problems.append(f"{where}: {response.status_code}, expected {int(expected)} ({name}) {body[:200]!r}")
    if method != "get":
        if isinstance(expected, Ok) and not changed:
            problems.append(f"{where}: allowed ({response.status_code}) but changed nothing ({name}) {body[:200]!r}")
        if not isinstance(expected, Ok) and changed:
            problems.append(f"{where}: refused ({response.status_code}) but the data changed ({name})")
    for marker in forbidden_markers(w, role):
        if marker in body:
            problems.append(f"{where}: the body shows another provider's {marker!r} ({name})")
    return problems


# -- the tests --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(set(ROUTES) | set(MATRIX)))
def test_route(name, world, db):
    if name not in MATRIX:
        pytest.fail(f"new route {ROUTES[name]!r} ({name}) is not in the access matrix: add its expected statuses")
    if name not in ROUTES:
        pytest.fail(f"{name} is in the access matrix but the resolver no longer has it: remove it")
    route = MATRIX[name]
    url = reverse(name, kwargs=route.kwargs(world) if route.kwargs else None)
    anonymous_refusal = route.get[0]
    post = route.post
    if post is None:
        post = (anonymous_refusal if anonymous_refusal in (302, 401) else 405,) + (405,) * 4
    problems = []
    for i, role in enumerate(ROLES):
        problems += check(world, name, role, "get", url, route.get[i], route)
        problems += check(world, name, role, "post", url, post[i], route)
        if route.patch:
            problems += check(world, name, role, "patch", url, route.patch[i], route)
        if route.put:
            problems += check(world, name, role, "put", url, route.put[i], route)
        if route.delete:
            problems += check(world, name, role, "delete", url, route.delete[i], route)
    assert snapshot() == world.baseline, f"{name}: a GET changed the data"
    assert not problems, "\n".join(problems)


def test_anonymous_requests_redirect_to_sign_in_with_next(world, db):
    """The web routes' 302 for the anonymous user is to the sign-in page, coming back afterwards."""
    for name, route in MATRIX.items():
        if name.startswith("api") or route.get[0] != 302 or name == "home":
            continue
        url = reverse(name, kwargs=route.kwargs(world) if route.kwargs else None)
        response = Client().get(url)
        assert response["Location"] == f"{reverse('login')}?next={url}", name


def test_admin_is_for_superusers_only(world, db):
    """Django admin: everyone in the matrix (liaison included: not staff) is sent to the admin sign-in."""
    login = reverse("admin:login")
    checked = 0
    for name, kwargs in admin_routes():
        url = reverse(name, kwargs=kwargs)
        for role in ROLES:
            CHECKS["count"] += 1
            response = client_for(world, role).get(url)
            if name == "admin:login":
                assert response.status_code == 200, (name, role)
                assert "alphaqz" not in body_of(response).lower()
                continue
            if name == "admin:logout":  # not staff: sent to the admin index, which asks to sign in
                assert (response.status_code, response["Location"]) == (302, reverse("admin:index")), role
                continue
            assert response.status_code == 302, (name, role, response.status_code)
            assert response["Location"].startswith(login), (name, role, response["Location"])
            checked += 1
    assert checked > 20


def _openapi_paths() -> dict[str, set[str]]:
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    return {
        path: {m for m in ops if m in ("get", "post", "put", "patch", "delete")}
        for path, ops in schema["paths"].items()
    }


SAMPLE_PATH_VALUES = {
    "id": "1",
    "reference": "C23051",
    "ukprn": "10004710",
    "code": "MATRIX.W1",
    "husid": "2200471000011",
    "numhus": "1",
}


def test_every_openapi_path_is_in_the_matrix_with_its_methods():
    paths = _openapi_paths()
    api_routes = {name for name in ROUTES if name.startswith("api:")}
    seen = set()
    for path, methods in paths.items():
        concrete = re.sub(r"\{(\w+)\}", lambda m: SAMPLE_PATH_VALUES[m.group(1)], path)
        match = resolve(concrete)
        name = f"{match.namespace}:{match.url_name}" if match.namespace else match.url_name
        if name not in MATRIX:
            pytest.fail(f"OpenAPI path {path} ({name}) is not in the access matrix: add its expected statuses")
        route = MATRIX[name]
        written = {"post"} if route.post and any(isinstance(status, Ok) for status in route.post) else set()
        written |= {"patch"} if route.patch else set()
        written |= {"put"} if route.put else set()
        written |= {"delete"} if route.delete else set()
        assert methods - {"get"} == written, (
            f"{path}: the schema offers {sorted(methods)}, the matrix {sorted(written)}"
        )
        seen.add(name)
    assert api_routes == seen, f"API routes missing from the OpenAPI schema: {sorted(api_routes - seen)}"
