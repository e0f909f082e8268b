"""A contact details file carries no names: a failure of one of its graduates is named from the
cohort's population (contacts.selectors.graduate_names, the kind's `names`), on the failures
screen, in the API and in the CSV, escaped like any name; a graduate outside the population, or a
failure of the whole file, has no name."""

import csv
import io

import pytest
from django.http import FileResponse
from django.urls import reverse
from rest_framework.test import APIClient

from collections_app.models import RuleFailure, RuleResult
from contacts.models import PopulationBuild, PopulationEntry

from ..factories import SubmissionFactory
from .helpers import contact_collection, contact_submission, graduate

NAMED, MARKUP, STRANGER = "1111111111111", "2222222222222", "9999999999999"
HOSTILE = '<b onmouseover="x()">Ann</b>'


@pytest.fixture
def failing(provider, provider_user, collection):
    contacts = contact_collection()
    submission = contact_submission(
        provider,
        contacts,
        provider_user,
        [graduate(NAMED, EMAIL=["a@example.com"]), graduate(MARKUP, "2", EMAIL=["b@example.com"]), graduate(STRANGER)],
    )
    build = PopulationBuild.objects.create(
        provider=provider, collection=contacts, source_submission=SubmissionFactory(provider=provider)
    )
    entry = {"qual1": "01", "dateleft": "2023-06-30", "homeeuos": "H"}
    PopulationEntry.objects.bulk_create(
        [
            PopulationEntry(build=build, husid=NAMED, numhus="1", fnames="Jo", surname="Bloggs", **entry),
            PopulationEntry(build=build, husid=MARKUP, numhus="2", fnames=HOSTILE, surname="=SUM(1)", **entry),
            # The same HUSID with another NUMHUS is another graduate: not the failing one's name.
            PopulationEntry(build=build, husid=MARKUP, numhus="1", fnames="Wrong", surname="Person", **entry),
        ]
    )
    for line, husid, numhus in ((6, NAMED, "1"), (9, MARKUP, "2"), (12, STRANGER, "1"), (None, "", "")):
        RuleFailure.objects.create(
            submission=submission, code="GO.POP.01", severity="error", line=line, husid=husid, numhus=numhus,
            message="Graduate not in the population.",
        )  # fmt: skip
    RuleResult.objects.create(submission=submission, code="GO.POP.01", severity="error", failure_count=4)
    return submission


def test_the_failures_screen_names_each_graduate_from_the_population(client, provider_user, failing):
    client.force_login(provider_user)
    page = client.get(reverse("submission_failures", args=[failing.pk])).content.decode()
    assert "Jo Bloggs" in page
    assert HOSTILE not in page and "&lt;b onmouseover=&quot;x()&quot;&gt;Ann&lt;/b&gt; =SUM(1)" in page
    assert "Wrong Person" not in page


def test_the_api_names_them_and_gives_null_for_no_one(provider_user, failing):
    api = APIClient()
    api.force_login(provider_user)
    rows = api.get(f"/api/v1/submissions/{failing.pk}/failures/").json()["results"]
    names = {(r["husid"], r["numhus"]): (r["fnames"], r["surname"]) for r in rows}
    assert names == {
        (NAMED, "1"): ("Jo", "Bloggs"),
        (MARKUP, "2"): (HOSTILE, "=SUM(1)"),
        (STRANGER, "1"): (None, None),
        ("", ""): (None, None),
    }


def test_the_csv_names_them_with_formulas_neutralised(client, provider_user, failing):
    client.force_login(provider_user)
    response = client.get(reverse("submission_failures_csv", args=[failing.pk]))
    text = b"".join(response.streaming_content).decode().removeprefix("\ufeff")
    rows = {(r["HUSID"], r["NUMHUS"]): (r["FNAMES"], r["SURNAME"]) for r in csv.DictReader(io.StringIO(text))}
    assert rows[(NAMED, "1")] == ("Jo", "Bloggs")
    assert rows[(MARKUP, "2")] == (HOSTILE, "'=SUM(1)")
    assert rows[(STRANGER, "1")] == ("", "")


def test_the_csv_is_never_kept_as_a_file_as_its_names_come_from_the_population(client, provider_user, failing):
    client.force_login(provider_user)
    for _ in range(2):
        response = client.get(reverse("submission_failures_csv", args=[failing.pk]))
        assert not isinstance(response, FileResponse)
        b"".join(response.streaming_content)


def test_a_search_of_the_failures_finds_a_graduate_by_name(client, provider_user, failing):
    """The names live in the population, so the search asks the kind (name_search) for the HUSIDs."""
    client.force_login(provider_user)
    url = reverse("submission_failures", args=[failing.pk])
    found = client.get(url, {"q": "blogg"}).context["failures"]
    assert [(f.husid, f.surname) for f in found] == [(NAMED, "Bloggs")]
    assert list(client.get(url, {"q": "Nobody"}).context["failures"]) == []
