"""The graduate web form: each change is a complete new file (the current submission's graduates
as stored, with the one change) submitted through the upload service; validation as the XSD;
refusals; the screens and the API."""

from datetime import date, timedelta
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import timezone
from lxml import etree
from rest_framework.test import APIClient

import contacts
from audit.models import AuditEvent
from collections_app.models import Submission, SubmissionStatus
from contacts import selectors, services
from contacts.models import PopulationBuild, PopulationEntry
from core.errors import ActionRefused

from ..factories import SubmissionFactory
from .helpers import contact_collection, contact_kind_registered, contact_submission, graduate

XSD = etree.XMLSchema(etree.parse(str(Path(contacts.__file__).parent / "xsd" / "contact_details_v1.xsd")))
FIRST, SECOND, THIRD, NEW = "1000000000001", "1000000000002", "1000000000003", "1000000000009"


def _graduates():
    return [
        graduate(FIRST, EMAIL=["b@example.com", "A@Example.com"], UKMOB=["07911 123456"]),
        graduate(SECOND, "2", gradstatus="02"),
        graduate(THIRD, EMAIL=["third@example.com"], UKTEL=["01242 123456"], INTTEL=["+33 6 12 34 56 78"]),
    ]


@pytest.fixture
def current(provider, provider_user):
    collection = contact_collection()
    with contact_kind_registered():
        yield contact_submission(provider, collection, provider_user, _graduates())


def _read(submission: Submission) -> list[tuple]:
    """The file's graduates as (HUSID, NUMHUS, GRADSTATUS, ((element, value), ...)), checked against the XSD."""
    with submission.file.open("rb") as handle:
        tree = etree.parse(handle)
    assert XSD.validate(tree), XSD.error_log
    assert tree.findtext("Provider/RECID") == submission.collection.recid
    assert tree.findtext("Provider/UKPRN") == submission.provider.ukprn
    return [
        (
            g.findtext("HUSID"),
            g.findtext("NUMHUS"),
            g.findtext("GRADSTATUS") or "",
            tuple((child.tag, child.text) for child in g if child.tag in ("EMAIL", "UKMOB", "UKTEL", "INTTEL")),
        )
        for g in tree.iter("Graduate")
    ]


def _as_read(g) -> tuple:
    pairs = tuple((e, v) for e in ("EMAIL", "UKMOB", "UKTEL", "INTTEL") for v in g.details.get(e, []))
    return (g.husid, g.numhus, g.gradstatus, pairs)


def _save(provider, collection, user, husid=THIRD, numhus="1", gradstatus="", **details):
    return services.graduate_save(
        provider=provider,
        collection=collection,
        husid=husid,
        numhus=numhus,
        gradstatus=gradstatus,
        details=details,
        user=user,
    )


def test_saving_a_graduate_submits_a_whole_file_with_only_that_change(provider, provider_user, current):
    collection = current.collection
    submission = _save(provider, collection, provider_user, EMAIL=["new@example.com"], UKMOB=["07700 900123"])
    assert (submission.status, submission.uploaded_by, submission.original_name) == (
        SubmissionStatus.QUEUED,
        provider_user,
        f"web-form-{THIRD}-1.xml",
    )
    before = [_as_read(g) for g in _graduates()]
    after = _read(submission)
    assert after[:2] == before[:2]  # every other graduate exactly as stored, in file order
    assert after[2] == (THIRD, "1", "", (("EMAIL", "new@example.com"), ("UKMOB", "07700 900123")))
    assert len(after) == 3
    event = AuditEvent.objects.get(action="graduate.changed")
    assert event.submission_id == submission.pk and event.details["from_submission"] == current.pk
    assert AuditEvent.objects.filter(action="submission.uploaded", submission=submission).exists()


def test_adding_a_graduate_puts_them_at_the_end(provider, provider_user, current):
    submission = _save(provider, current.collection, provider_user, husid=NEW, gradstatus="01")
    after = _read(submission)
    assert after[:3] == [_as_read(g) for g in _graduates()]
    assert after[3] == (NEW, "1", "01", ())
    assert AuditEvent.objects.filter(action="graduate.added").count() == 1


def test_deleting_a_graduate_leaves_only_them_out(provider, provider_user, current):
    submission = services.graduate_delete(
        provider=provider, collection=current.collection, husid=SECOND, numhus="2", user=provider_user
    )
    before = [_as_read(g) for g in _graduates()]
    assert _read(submission) == [before[0], before[2]]
    assert submission.original_name == f"web-form-{SECOND}-2-deleted.xml"
    Submission.objects.filter(pk=submission.pk).update(status="rejected")  # no longer in flight, not current
    with pytest.raises(ActionRefused) as refused:
        services.graduate_delete(
            provider=provider, collection=current.collection, husid=NEW, numhus="1", user=provider_user
        )
    assert refused.value.code == "not_found"


def test_the_stored_graduates_are_streamed_in_file_order(current):
    rows = selectors.graduates_as_stored(submission=current)
    assert iter(rows) is rows  # a generator: the file is written as the rows are read
    assert [_as_read(g) for g in rows] == [_as_read(g) for g in _graduates()]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"husid": "123456789012"}, "husid"),
        ({"husid": "12345678901234"}, "husid"),
        ({"numhus": "1 2"}, "numhus"),
        ({"gradstatus": "04"}, "gradstatus"),
        ({"EMAIL": ["a@x.uk", "b@x.uk", "c@x.uk", "d@x.uk"]}, "EMAIL"),
        ({"EMAIL": ["a" * 250 + "@x.uk"]}, "EMAIL"),
        ({"UKMOB": ["0" * 31]}, "UKMOB"),
        ({"FAX": ["01242 123456"]}, "FAX"),
    ],
)
def test_what_the_xsd_would_refuse_is_refused_before_anything_is_stored(
    provider, provider_user, current, change, field
):
    values = {"husid": NEW, "numhus": "1", "gradstatus": "", **change}
    details = {k: v for k, v in values.items() if k.isupper()}
    assert field in services.graduate_errors(
        husid=values["husid"], numhus=values["numhus"], gradstatus=values["gradstatus"], details=details
    )
    with pytest.raises(ActionRefused) as refused:
        _save(
            provider,
            current.collection,
            provider_user,
            values["husid"],
            values["numhus"],
            values["gradstatus"],
            **details,
        )
    assert refused.value.code == "invalid"
    assert Submission.objects.count() == 1


def test_refused_while_a_submission_is_in_flight(provider, provider_user, current):
    SubmissionFactory(provider=provider, collection=current.collection, uploaded_by=provider_user, status="processing")
    with pytest.raises(ActionRefused) as refused:
        _save(provider, current.collection, provider_user, EMAIL=["x@example.com"])
    assert refused.value.code == "in_flight"


def test_refused_when_the_collection_is_closed(provider, provider_user, current):
    collection = current.collection
    collection.approval_deadline = timezone.now() - timedelta(minutes=1)
    collection.save()
    with pytest.raises(ActionRefused) as refused:
        _save(provider, collection, provider_user, EMAIL=["x@example.com"])
    assert refused.value.code == "collection_closed"


def test_refused_for_liaison_and_another_providers_staff(provider, current, liaison, other_user):
    for someone in (liaison, other_user):
        with pytest.raises(ActionRefused) as refused:
            _save(provider, current.collection, someone, EMAIL=["x@example.com"])
        assert refused.value.code == "forbidden"
    assert Submission.objects.count() == 1


def test_refused_without_a_checked_file(provider, provider_user):
    collection = contact_collection()
    SubmissionFactory(provider=provider, collection=collection, uploaded_by=provider_user, status="rejected")
    with contact_kind_registered(), pytest.raises(ActionRefused) as refused:
        _save(provider, collection, provider_user, husid=NEW)
    assert refused.value.code == "no_submission"


# -- screens -------------------------------------------------------------------------------------


def test_the_list_searches_by_husid_prefix_and_links_each_graduate(client, provider_user, current):
    client.force_login(provider_user)
    url = reverse("graduate_list", args=[current.collection.reference])
    page = client.get(url).content.decode()
    assert all(h in page for h in (FIRST, SECOND, THIRD))
    assert reverse("graduate_edit", args=[current.collection.reference, FIRST, "1"]) in page
    found = client.get(url, {"q": "1000000000002"}).content.decode()
    assert SECOND in found and FIRST not in found


def test_the_form_shows_the_graduate_and_saving_goes_to_the_new_submission(client, provider_user, current):
    client.force_login(provider_user)
    url = reverse("graduate_edit", args=[current.collection.reference, FIRST, "1"])
    page = client.get(url).content.decode()
    assert 'value="07911 123456"' in page
    # Emails have no order: shown sorted, not in the file's order (b@ before A@).
    assert 'name="email_1" value="A@Example.com"' in page and 'name="email_2" value="b@example.com"' in page
    response = client.post(url, {"gradstatus": "", "email_1": "only@example.com", "ukmob_1": "07911 123456"})
    submission = Submission.objects.latest("pk")
    assert response.status_code == 302 and response["Location"] == reverse("submission_detail", args=[submission.pk])
    assert _read(submission)[0] == (FIRST, "1", "", (("EMAIL", "only@example.com"), ("UKMOB", "07911 123456")))
    message = client.get(response["Location"]).content.decode()
    assert "must be approved again" in message


def test_form_errors_are_shown_and_nothing_is_submitted(client, provider_user, current):
    client.force_login(provider_user)
    url = reverse("graduate_edit", args=[current.collection.reference, FIRST, "1"])
    response = client.post(url, {"gradstatus": "09", "ukmob_1": "0" * 31})
    assert response.status_code == 200
    page = response.content.decode()
    assert "There is a problem" in page
    assert Submission.objects.count() == 1


def test_another_provider_gets_404_and_liaison_only_read(client, provider, other_user, liaison, current):
    url = reverse("graduate_edit", args=[current.collection.reference, FIRST, "1"])
    client.force_login(other_user)
    assert client.get(url).status_code == 404
    assert client.post(url, {"email_1": "x@example.com"}).status_code == 404
    client.force_login(liaison)
    page = client.get(url, {"provider": provider.ukprn}).content.decode()
    assert "A@Example.com" in page and "Save and check" not in page
    client.post(f"{url}?provider={provider.ukprn}", {"email_1": "x@example.com"})
    assert Submission.objects.count() == 1


def test_adding_a_population_graduate_not_in_the_file(client, provider, provider_user, current):
    build = PopulationBuild.objects.create(
        provider=provider, collection=current.collection, source_submission=current, graduate_count=2
    )
    for husid, surname in ((FIRST, "Inthefile"), (NEW, "Missing")):
        PopulationEntry.objects.create(
            build=build, husid=husid, numhus="1", fnames="Pat", surname=surname, qual1="01",
            dateleft=date(2023, 9, 1), homeeuos="1",
        )  # fmt: skip
    client.force_login(provider_user)
    page = client.get(reverse("graduate_list", args=[current.collection.reference])).content.decode()
    assert "Missing" in page and "Inthefile" not in page
    add = reverse("graduate_new", args=[current.collection.reference])
    assert f"{add}?husid={NEW}&amp;numhus=1" in page
    assert f'value="{NEW}"' in client.get(add, {"husid": NEW, "numhus": "1"}).content.decode()
    client.post(add, {"husid": NEW, "numhus": "1", "email_1": "missing@example.com"})
    added = Submission.objects.latest("pk")
    assert _read(added)[-1] == (NEW, "1", "", (("EMAIL", "missing@example.com"),))
    added.status = "rejected"  # no longer in flight (while it is, the page says to wait instead)
    added.save(update_fields=["status"])
    # Someone already in the file is changed, not added twice.
    again = client.post(add, {"husid": FIRST, "numhus": "1", "email_1": "x@example.com"})
    assert again.status_code == 200 and "already in the file" in again.content.decode()


def test_delete_asks_first_then_submits(client, provider_user, current):
    client.force_login(provider_user)
    url = reverse("graduate_delete", args=[current.collection.reference, THIRD, "1"])
    assert "Delete and check" in client.get(url).content.decode()
    client.post(url)
    assert [g[0] for g in _read(Submission.objects.latest("pk"))] == [FIRST, SECOND]


def test_without_a_checked_file_the_add_page_says_to_upload_one_instead_of_the_form(client, provider, provider_user):
    collection = contact_collection()
    SubmissionFactory(provider=provider, collection=collection, uploaded_by=provider_user, status="rejected")
    client.force_login(provider_user)
    url = reverse("graduate_new", args=[collection.reference])
    with contact_kind_registered():
        page = client.get(url, {"husid": NEW, "numhus": "1"}).content.decode()
        assert f"There is no checked contact details file for {collection.reference} yet: upload one first." in page
        assert f'href="{reverse("collection_detail", args=[collection.reference])}#upload-form"' in page
        assert 'name="husid"' not in page and "Add and check" not in page
        listed = client.get(reverse("graduate_list", args=[collection.reference])).content.decode()
        assert f'href="{reverse("collection_detail", args=[collection.reference])}#upload-form"' in listed
        # Saving is still refused, as before: nothing is submitted.
        response = client.post(url, {"husid": NEW, "numhus": "1", "email_1": "new@example.com"}, follow=True)
    assert "upload one first" in response.content.decode()
    assert Submission.objects.count() == 1


def test_while_an_upload_is_processing_the_pages_say_so_instead_of_the_forms(client, provider, provider_user, current):
    running = SubmissionFactory(
        provider=provider, collection=current.collection, uploaded_by=provider_user, status="processing"
    )
    client.force_login(provider_user)
    reference = current.collection.reference
    edit = client.get(reverse("graduate_edit", args=[reference, FIRST, "1"])).content.decode()
    new = client.get(reverse("graduate_new", args=[reference])).content.decode()
    delete = client.get(reverse("graduate_delete", args=[reference, FIRST, "1"])).content.decode()
    waiting = f"Submission {running.pk} is still being processed. Wait for its result, then try again."
    assert all(waiting in page for page in (edit, new, delete))
    assert "Save and check" not in edit and "Add and check" not in new and "Delete and check" not in delete
    assert "A@Example.com" in edit  # the graduate as stored is still shown


def test_a_closed_collection_shows_the_graduate_without_the_forms(client, provider_user, current):
    collection = current.collection
    collection.approval_deadline = timezone.now() - timedelta(minutes=1)
    collection.save()
    client.force_login(provider_user)
    edit = client.get(reverse("graduate_edit", args=[collection.reference, FIRST, "1"])).content.decode()
    delete = client.get(reverse("graduate_delete", args=[collection.reference, FIRST, "1"])).content.decode()
    assert "Save and check" not in edit and "Delete and check" not in delete
    assert all("uploads are no longer accepted" in page for page in (edit, delete))
    assert "A@Example.com" in edit


# -- API -----------------------------------------------------------------------------------------


def _api(user):
    api = APIClient()
    api.force_authenticate(user)
    return api


def test_api_gets_changes_and_deletes_a_graduate(provider, provider_user, liaison, other_user, current):
    url = f"/api/v1/collections/{current.collection.reference}/graduates/{FIRST}/1/"
    got = _api(provider_user).get(url).json()
    # Emails have no order: listed sorted, whatever the file's order.
    assert got["details"] == {
        "EMAIL": ["A@Example.com", "b@example.com"],
        "UKMOB": ["07911 123456"],
        "UKTEL": [],
        "INTTEL": [],
    }
    assert (got["gradstatus"], got["submission"]) == ("", current.pk)
    assert "first" not in str(got).lower()
    assert _api(other_user).get(url).status_code == 404
    assert _api(liaison).get(url, {"ukprn": provider.ukprn}).status_code == 200
    body = {"gradstatus": "03", "details": {}}
    assert _api(liaison).put(url, body, format="json").status_code == 403
    assert _api(other_user).put(url, body, format="json").status_code == 404
    put = _api(provider_user).put(url, body, format="json")
    assert put.status_code == 202
    assert _read(Submission.objects.get(pk=put.json()["id"]))[0] == (FIRST, "1", "03", ())
    in_flight = _api(provider_user).put(url, body, format="json")
    assert (in_flight.status_code, in_flight.json()["code"]) == (400, "in_flight")
    Submission.objects.filter(pk=put.json()["id"]).update(status="rejected")
    too_many = _api(provider_user).put(url, {"details": {"EMAIL": ["a@x.uk"] * 4}}, format="json")
    assert too_many.status_code == 400 and "EMAIL" in too_many.json()["details"]


def test_api_delete_and_add(provider, provider_user, current):
    base = f"/api/v1/collections/{current.collection.reference}/graduates/"
    listed = _api(provider_user).get(base).json()
    assert [g["husid"] for g in listed["results"]] == [FIRST, SECOND, THIRD]
    deleted = _api(provider_user).delete(f"{base}{SECOND}/2/")
    assert deleted.status_code == 202
    assert [g[0] for g in _read(Submission.objects.get(pk=deleted.json()["id"]))] == [FIRST, THIRD]
    Submission.objects.filter(pk=deleted.json()["id"]).update(status="rejected")  # no longer in flight
    added = _api(provider_user).post(
        base, {"husid": NEW, "numhus": "1", "details": {"UKMOB": ["07911 654321"]}}, format="json"
    )
    assert added.status_code == 202
    assert [g[0] for g in _read(Submission.objects.get(pk=added.json()["id"]))] == [FIRST, SECOND, THIRD, NEW]


def test_refused_if_another_upload_became_current_while_the_file_was_written(
    provider, provider_user, current, monkeypatch
):
    stored = selectors.graduates_as_stored

    def racing(*, submission):
        contact_submission(provider, current.collection, provider_user, [], status="passed")
        yield from stored(submission=submission)

    monkeypatch.setattr(selectors, "graduates_as_stored", racing)
    with pytest.raises(ActionRefused) as refused:
        _save(provider, current.collection, provider_user, EMAIL=["x@example.com"])
    assert refused.value.code == "not_current"
    assert Submission.objects.count() == 2  # the original and the racing one: nothing submitted
    assert not AuditEvent.objects.filter(action__startswith="graduate.").exists()
