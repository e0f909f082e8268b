"""The survey feed: only currently approved data, emails as a set, phones mobiles first, changes since a
time after re-approvals, CSV, and who may read it (the survey platform's token; liaison for support)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.response import Response
from rest_framework.test import APIClient

from accounts import services as account_services
from accounts.models import Role, User
from collections_app.models import SubmissionStatus
from core.api import CSVRenderer

from .. import factories
from .go_data import approve, contact_collection, contact_submission, email, phone

FEED = "/api/v1/survey/{}/contacts/"


def iso(moment):
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


@pytest.fixture
def survey_user(db):
    return account_services.user_create(username="platform", role=Role.SURVEY_PLATFORM, email="ops@survey.example")


@pytest.fixture
def survey_client(survey_user):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {account_services.survey_token_issue(user=survey_user).key}")
    return client


@pytest.fixture
def world(provider, approver, other_provider):
    """Provider: an approved upload, then a newer one that passed but is not approved. Other provider:
    an approved upload re-approved 10 minutes later with a newer one."""
    now = timezone.now()
    other_approver = factories.ApproverFactory(provider=other_provider)
    collection = contact_collection()
    approved = contact_submission(
        provider,
        collection,
        [
            (
                "1111111111111",
                "1",
                "",
                [
                    email("Zed@Example.com"),
                    phone("UKTEL", "+441242123456", "fixed_line"),  # a landline before the mobiles
                    email("amy@example.org"),
                    phone("INTTEL", "+33140000000", "fixed_line"),
                    phone("INTTEL", "+33612345678", "mobile"),
                    phone("UKMOB", "+447911123456", "mobile"),
                    email("bad@@example.com", problem="Not a valid address."),
                ],
            ),
            ("1111111111112", "1", "02", []),
        ],
    )
    approve(approved, approver, at=now - timedelta(minutes=60))
    pending = contact_submission(provider, collection, [("1111111111119", "1", "", [email("new@example.com")])])
    assert pending.status == SubmissionStatus.PASSED
    old = contact_submission(
        other_provider,
        collection,
        [
            ("2222222222221", "1", "", [email("a@x.com"), email("b@x.com"), phone("UKMOB", "+447700900001", "mobile")]),
            ("2222222222222", "1", "", [email("gone@x.com")]),
            ("2222222222224", "1", "", [email("same@x.com")]),
            ("2222222222225", "1", "", [email("steady@x.com")]),
        ],
    )
    approve(old, other_approver, at=now - timedelta(minutes=50))
    new = contact_submission(
        other_provider,
        collection,
        [
            (
                "2222222222221",
                "1",
                "",
                [
                    email("a@x.com"),
                    email("c@x.com"),
                    phone("UKTEL", "+441179000000", "fixed_line"),
                    phone("UKMOB", "+447700900001", "mobile"),
                    phone("UKMOB", "+447700900002", "mobile"),
                ],
            ),
            ("2222222222223", "1", "01", []),
            ("2222222222224", "1", "03", []),
            ("2222222222225", "1", "", [email("steady@x.com")]),
        ],
    )
    approve(new, other_approver, at=now - timedelta(minutes=40))
    return {"collection": collection, "approved": approved, "pending": pending, "old": old, "new": new, "now": now}


def all_results(client, url):
    results, page = [], client.get(url)
    assert page.status_code == 200, page.content
    body = page.json()
    results += body["results"]
    while body["next"]:
        body = client.get(body["next"]).json()
        results += body["results"]
    return page.json(), results


def test_feed_has_only_the_currently_approved_submissions(world, survey_client):
    first, results = all_results(survey_client, FEED.format("C23071") + "?page_size=2")
    husids = [r["husid"] for r in results]
    assert sorted(husids) == [
        "1111111111111",
        "1111111111112",
        "2222222222221",
        "2222222222223",
        "2222222222224",
        "2222222222225",
    ]
    # Neither the passed-but-unapproved upload nor the superseded approval's graduate.
    assert "1111111111119" not in husids and "2222222222222" not in husids
    assert first["collection"] == "C23071" and first["count"] == 6 and "until=" in first["next"]
    by_husid = {r["husid"]: r for r in results}
    assert by_husid["1111111111112"] == {
        "ukprn": "10007794",
        "husid": "1111111111112",
        "numhus": "1",
        "gradstatus": "02",
        "emails": [],
        "phones": [],
    }


def test_emails_are_a_sorted_set_and_phones_come_mobiles_first(world, survey_client):
    _, results = all_results(survey_client, FEED.format("C23071"))
    graduate = next(r for r in results if r["husid"] == "1111111111111")
    assert graduate["emails"] == ["amy@example.org", "zed@example.com"]  # no invalid one, no position
    assert graduate["phones"] == [
        {"element": "UKMOB", "e164": "+447911123456"},
        {"element": "INTTEL", "e164": "+33612345678"},
        {"element": "UKTEL", "e164": "+441242123456"},  # given first, used after the mobiles
        {"element": "INTTEL", "e164": "+33140000000"},
    ]
    assert not any("position" in r or "first" in r for r in results)


def test_since_after_a_re_approval_gives_exactly_what_changed(world, survey_client):
    since = iso(world["now"] - timedelta(minutes=45))
    body, results = all_results(survey_client, FEED.format("C23071") + f"?since={since}")
    assert body["since"] == since
    assert results == [
        {
            "ukprn": "10000001",
            "husid": "2222222222221",
            "numhus": "1",
            "change": "changed",
            "gradstatus": "",
            "previous_gradstatus": "",
            "emails_added": ["c@x.com"],
            "emails_removed": ["b@x.com"],
            "phones_added": [
                {"element": "UKMOB", "e164": "+447700900002"},
                {"element": "UKTEL", "e164": "+441179000000"},
            ],
            "phones_removed": [],
        },
        {
            "ukprn": "10000001",
            "husid": "2222222222222",
            "numhus": "1",
            "change": "removed",
            "gradstatus": None,
            "previous_gradstatus": "",
            "emails_added": [],
            "emails_removed": ["gone@x.com"],
            "phones_added": [],
            "phones_removed": [],
        },
        {
            "ukprn": "10000001",
            "husid": "2222222222223",
            "numhus": "1",
            "change": "added",
            "gradstatus": "01",
            "previous_gradstatus": None,
            "emails_added": [],
            "emails_removed": [],
            "phones_added": [],
            "phones_removed": [],
        },
        {
            "ukprn": "10000001",
            "husid": "2222222222224",
            "numhus": "1",
            "change": "changed",
            "gradstatus": "03",
            "previous_gradstatus": "",
            "emails_added": [],
            "emails_removed": ["same@x.com"],
            "phones_added": [],
            "phones_removed": [],
        },
    ]


def test_since_before_any_approval_adds_everything_and_generated_at_chains(world, survey_client):
    since = iso(world["now"] - timedelta(hours=3))
    body, results = all_results(survey_client, FEED.format("C23071") + f"?since={since}")
    assert {r["change"] for r in results} == {"added"}
    assert len(results) == 6
    graduate = next(r for r in results if r["husid"] == "1111111111111")
    assert graduate["emails_added"] == ["amy@example.org", "zed@example.com"]
    assert [p["element"] for p in graduate["phones_added"]] == ["UKMOB", "INTTEL", "UKTEL", "INTTEL"]
    # Nothing approved since the answer's generated_at: no changes.
    _, later = all_results(survey_client, FEED.format("C23071") + f"?since={body['generated_at']}")
    assert later == []


def test_csv_is_one_row_per_graduate(world, survey_client):
    response = survey_client.get(FEED.format("C23071") + "?format=csv")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert response["X-Generated-At"]
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["UKPRN", "HUSID", "NUMHUS", "GRADSTATUS", "EMAILS", "PHONES"]
    by_husid = {row[1]: row for row in rows[1:]}
    assert len(by_husid) == 6
    assert by_husid["1111111111111"] == [
        "10007794",
        "1111111111111",
        "1",
        "",
        "amy@example.org; zed@example.com",
        "UKMOB:+447911123456; INTTEL:+33612345678; UKTEL:+441242123456; INTTEL:+33140000000",
    ]
    since = iso(world["now"] - timedelta(minutes=45))
    changes = survey_client.get(FEED.format("C23071") + f"?format=csv&since={since}")
    rows = list(csv.reader(io.StringIO(b"".join(changes.streaming_content).decode("utf-8-sig"))))
    assert rows[0][3] == "CHANGE" and [row[3] for row in rows[1:]] == ["changed", "removed", "added", "changed"]


def test_accept_text_csv_gives_the_same_csv_as_format_csv(world, survey_client):
    """The platform may ask for CSV by header instead of `?format=csv`: the same file either way, never a
    dump of the JSON page (the CSV renderer used to str() it)."""
    until = iso(world["now"] - timedelta(minutes=5))  # one moment, so the two answers can be compared
    since = iso(world["now"] - timedelta(minutes=45))
    for query in (f"?until={until}", f"?until={until}&since={since}"):
        by_format = survey_client.get(FEED.format("C23071") + query + "&format=csv")
        by_header = survey_client.get(FEED.format("C23071") + query, HTTP_ACCEPT="text/csv")
        assert by_header.status_code == 200, by_header.content
        assert by_header["Content-Type"] == by_format["Content-Type"]
        assert by_header["Content-Disposition"] == by_format["Content-Disposition"]
        assert by_header["X-Generated-At"] == by_format["X-Generated-At"] == until
        body = b"".join(by_header.streaming_content)
        assert body == b"".join(by_format.streaming_content)
        assert body.decode("utf-8-sig").startswith("UKPRN,HUSID,NUMHUS,")
    # JSON stays the default, and what a browser's Accept gets.
    assert survey_client.get(FEED.format("C23071"))["Content-Type"] == "application/json"
    browser = survey_client.get(FEED.format("C23071"), HTTP_ACCEPT="text/html,application/xml;q=0.9,*/*;q=0.8")
    assert browser["Content-Type"] == "application/json"


def test_csv_errors_are_their_sentence(world, survey_client):
    response = survey_client.get(FEED.format("C99071"), HTTP_ACCEPT="text/csv")
    assert response.status_code == 404 and response.content == b"No such contact details collection."
    response = survey_client.get(FEED.format("C23071") + "?since=yesterday", HTTP_ACCEPT="text/csv")
    assert response.status_code == 400 and response.content.startswith(b"`since` must be")


def test_the_csv_renderer_never_writes_a_python_repr():
    """Anything but an error answer reaching CSVRenderer is a view that did not stream its CSV: 406 and a
    sentence, not str(data) with a 200."""
    for data in ({"collection": "C23071", "results": [{"element": "UKMOB"}]}, [{"a": 1}], "text"):
        response = Response(data)
        body = CSVRenderer().render(data, "text/csv", {"response": response})
        assert response.status_code == 406
        assert b"{" not in body and b"[" not in body and b"'" not in body
        assert body == b"This answer has no CSV form: ask for application/json."
    response = Response({"detail": "Not found."}, status=404)
    assert CSVRenderer().render(response.data, "text/csv", {"response": response}) == b"Not found."
    assert response.status_code == 404
    # A validation error keeps its status and reads as its messages.
    response = Response({"sort": ["Not a valid choice."], "page": ["Too big.", "Not a number."]}, status=400)
    body = CSVRenderer().render(response.data, "text/csv", {"response": response})
    assert (response.status_code, body) == (400, b"sort: Not a valid choice.\npage: Too big. Not a number.")
    assert CSVRenderer().render(None, "text/csv", {"response": Response(status=204)}) == b""


def test_unknown_or_student_record_reference_is_404(world, survey_client):
    factories.CollectionFactory(reference="C23051")
    assert survey_client.get(FEED.format("C99071")).status_code == 404
    assert survey_client.get(FEED.format("C23051")).status_code == 404


def test_bad_since_is_refused(world, survey_client):
    response = survey_client.get(FEED.format("C23071") + "?since=yesterday")
    assert response.status_code == 400 and response.json()["code"] == "bad_time"


def test_who_may_read_the_feed(world, survey_client, provider_user, approver, liaison):
    url = FEED.format("C23071")
    assert APIClient().get(url).status_code == 401
    for person in (provider_user, approver):
        client = APIClient()
        client.force_authenticate(person)
        assert client.get(url).status_code == 403
    client = APIClient()
    client.force_authenticate(liaison)  # liaison may read it, to support the platform
    assert client.get(url).status_code == 200
    assert survey_client.get(url).status_code == 200


def test_survey_token_is_refused_elsewhere(world, survey_client, survey_user):
    submission = world["approved"]
    for url in (
        "/api/v1/",
        "/api/v1/collections/",
        f"/api/v1/submissions/{submission.pk}/",
        "/api/v1/audit/",
        "/api/v1/providers/",
        "/api/v1/review/grid/",
        f"/api/v1/submissions/{submission.pk}/coverage/",
    ):
        assert survey_client.get(url).status_code == 403, url
    assert survey_client.post("/api/v1/collections/C23071/submissions/", {}).status_code == 403
    # A session (it has no password to sign in with) is refused on every page.
    assert not survey_user.has_usable_password()
    client = APIClient()
    client.force_login(survey_user)
    for url in (
        "/",
        "/dashboard/",
        "/account/",
        "/collections/C23071/",
        f"/submissions/{submission.pk}/",
        "/liaison/",
        "/audit/",
        "/queries/",
    ):
        assert client.get(url).status_code == 403, url


def test_survey_user_is_neither_staff_nor_liaison(survey_user):
    from accounts import permissions

    assert not permissions.is_provider_staff(survey_user)
    assert not permissions.is_liaison(survey_user)
    assert permissions.is_survey_platform(survey_user)
    assert not permissions.visible_providers(survey_user).exists()


def test_liaison_creates_the_account_and_rotates_its_token(db, liaison, client):
    client.force_login(liaison)
    response = client.post(
        reverse("user_create"),
        {
            "username": "survey",
            "first_name": "Survey",
            "last_name": "Platform",
            "email": "ops@survey.example",
            "role": "survey_platform",
            "is_active": "on",
        },
    )
    assert response.status_code == 302, response.content
    user = User.objects.get(username="survey")
    assert user.role == Role.SURVEY_PLATFORM and user.provider is None and not user.has_usable_password()
    url = reverse("survey_token_issue", kwargs={"pk": user.pk})
    client.post(url)
    first = Token.objects.get(user=user).key
    page = client.get(reverse("user_edit", kwargs={"pk": user.pk})).content.decode()
    assert first in page
    assert first not in client.get(reverse("user_edit", kwargs={"pk": user.pk})).content.decode()  # shown once
    client.post(url)
    assert Token.objects.get(user=user).key != first
    # Not for people: their token is theirs to manage.
    client.post(reverse("survey_token_issue", kwargs={"pk": liaison.pk}))
    assert not Token.objects.filter(user=liaison).exists()


def test_survey_token_command(survey_user, capsys):
    from django.core.management import call_command

    call_command("survey_token", "platform")
    assert capsys.readouterr().out.strip() == Token.objects.get(user=survey_user).key


def test_an_approval_still_settling_waits_for_the_next_poll(world, survey_client, provider, approver):
    """The feed describes a minute ago: an approval made seconds ago (its transaction may not have
    committed for a reader yet) is left to the next poll, whose `since` is this answer's generated_at."""
    newer = contact_submission(provider, world["collection"], [("1111111111118", "1", "", [email("z@z.com")])])
    approve(newer, approver, at=timezone.now() - timedelta(seconds=5))
    body, results = all_results(survey_client, FEED.format("C23071") + f"?until={iso(timezone.now() + timedelta(1))}")
    assert "1111111111118" not in {r["husid"] for r in results}
    assert body["generated_at"] < iso(timezone.now() - timedelta(seconds=50))
    # An unencoded "+01:00" offset arrives as " 01:00" and is still read.
    since = (world["now"] - timedelta(minutes=45)).astimezone(timezone.get_fixed_timezone(60)).isoformat()
    response = survey_client.get(FEED.format("C23071") + f"?since={since}")  # "+" unencoded: a space
    assert response.status_code == 200 and response.json()["count"] == 4
