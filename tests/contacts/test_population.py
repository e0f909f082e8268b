"""A cohort's population, built from a real Student record taken through the pipeline and
approved: the course-end window's edges, QUAL1, HOMEEUOS, rebuilds after a newer approval with
what changed, the page, the downloads, the API and who may see them."""

import csv
import io
from datetime import date, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from lxml import etree
from rest_framework.test import APIClient

from audit.models import AuditEvent
from collections_app.models import CollectionKind
from contacts.models import PopulationBuild, PopulationEntry
from contacts.population import EU_MEMBER_STATES, homeeuos_of, population_build
from core.errors import ActionRefused
from review import services as review_services
from student_record.sample_data import make_husid

from .. import factories
from ..hin.test_guidance_examples import process
from ..xmlbuild import instance, student, student_record

INSTID = "0168"


def husid(n: int) -> str:
    return make_husid(2020, INSTID, n)


def graduate(n: int, dateleft: str | None, *, qual1: str | None = "01", domicile: str | None = "XF", **fields):
    """Student n, one instance that ended on `dateleft` with QUAL1 `qual1`."""
    leaving = {"RSNLEAVE": "01", "DATELEFT": dateleft} if dateleft else {}
    return student(
        instance(COMDATE="2020-09-20", QUAL1=qual1, DOMICILE=domicile, PTITLE=f"BSc Subject {n}", **leaving),
        **{
            "HUSID": husid(n),
            "OWNSTU": f"S{n:05d}",
            "FNAMES": f"Grad{n}",
            "SURNAME": f"Surname{n}",
            "BIRTHDTE": (date(1999, 1, 1) + timedelta(days=n)).isoformat(),
            **fields,
        },
    )


# Collection year 2023/24 (C23051 / C23071..74): cohort A is DATELEFT 1 Aug 2023 - 31 Oct 2023.
BASE = [
    graduate(1, "2023-08-01"),  # A's first day
    graduate(2, "2023-10-31", domicile="FR"),  # A's last day
    graduate(3, "2023-11-01", domicile="US"),  # B's first day
    graduate(4, "2024-07-31", domicile="ZZ"),  # D's last day
    graduate(5, "2023-09-15", qual1=None),  # no qualification: in no population
    graduate(6, "2023-07-31"),  # the year before: in no cohort of 2023/24
    graduate(7, "2023-09-01", domicile=None),  # DOMICILE missing: not known
    graduate(8, None),  # still studying
]


@pytest.fixture
def sr_collection(db):
    return factories.CollectionFactory(reference="C23051", reporting_year=2023)


def contact_collection(cohort: str, reference: str | None = None, **fields):
    now = timezone.now()
    return factories.CollectionFactory(
        reference=reference or f"C2307{'ABCD'.index(cohort) + 1}",
        name=f"Graduate Outcomes 2023/24 cohort {cohort}",
        kind=CollectionKind.CONTACT_DETAILS,
        reporting_year=2023,
        cohort=cohort,
        **{"opens": now - timedelta(days=10), "approval_deadline": now + timedelta(days=30), **fields},
    )


@pytest.fixture
def cohort_a(db):
    return contact_collection("A")


def approved_record(provider, user, approver, collection, students, django_capture_on_commit_callbacks):
    """A Student record processed by the pipeline and approved (the historical approval: whatever
    its verdict), its on-commit announcement run."""
    content = student_record(*students, recid=collection.recid, instid=provider.instid, ukprn=provider.ukprn)
    submission = process(provider, user, collection, content)
    with django_capture_on_commit_callbacks(execute=True):
        review_services.submission_approve_historical(submission=submission, user=approver)
    return submission


def entries(build) -> dict:
    return {e.husid: e for e in PopulationEntry.objects.filter(build=build)}


# -- building ------------------------------------------------------------------------------------


def test_window_edges_qual1_and_homeeuos(
    provider, provider_user, approver, sr_collection, django_capture_on_commit_callbacks
):
    collections = {c: contact_collection(c) for c in "ABCD"}
    source = approved_record(provider, provider_user, approver, sr_collection, BASE, django_capture_on_commit_callbacks)
    builds = {c: PopulationBuild.objects.get(collection=collections[c], is_current=True) for c in "ABCD"}
    assert all(b.source_submission_id == source.pk for b in builds.values())

    a = entries(builds["A"])
    assert set(a) == {husid(1), husid(2), husid(7)}  # 1 Aug and 31 Oct in, 1 Nov out, no QUAL1 out
    assert set(entries(builds["B"])) == {husid(3)}  # 1 Nov is cohort B
    assert set(entries(builds["C"])) == set()
    assert set(entries(builds["D"])) == {husid(4)}  # 31 Jul of the next year is still D
    assert builds["A"].graduate_count == 3

    one = a[husid(1)]
    assert (one.numhus, one.ownstu, one.fnames, one.surname, one.qual1, one.ptitle) == (
        "1", "S00001", "Grad1", "Surname1", "01", "BSc Subject 1",
    )  # fmt: skip
    assert one.dateleft == date(2023, 8, 1)
    # HOMEEUOS from DOMICILE: XF UK, FR EU, US overseas, ZZ or missing not known.
    assert (a[husid(1)].homeeuos, a[husid(2)].homeeuos, a[husid(7)].homeeuos) == ("1", "2", "4")
    assert entries(builds["B"])[husid(3)].homeeuos == "3"
    assert entries(builds["D"])[husid(4)].homeeuos == "4"


def test_homeeuos_mapping_and_the_eu_list():
    assert len(EU_MEMBER_STATES) == len(set(EU_MEMBER_STATES)) == 27
    assert "GB" not in EU_MEMBER_STATES and "XF" not in EU_MEMBER_STATES
    assert [homeeuos_of(code) for code in ("XF", "XG", "XH", "XI", "XK")] == ["1"] * 5
    assert [homeeuos_of(code) for code in ("FR", "DE", "IE", "HR")] == ["2"] * 4
    assert [homeeuos_of(code) for code in ("US", "CN", "NO", "CH")] == ["3"] * 4
    assert [homeeuos_of(code) for code in ("ZZ", "", None)] == ["4"] * 3


def test_no_approved_student_record_is_refused_with_a_sentence(provider, provider_user, cohort_a, sr_collection):
    process(provider, provider_user, sr_collection, student_record(*BASE, instid=INSTID))  # passed, not approved
    with pytest.raises(ActionRefused) as refused:
        population_build(provider=provider, collection=cohort_a, user=provider_user)
    assert refused.value.code == "no_approved_student_record"
    assert "no approved Student record for 2023/24 yet" in refused.value.message
    assert not PopulationBuild.objects.exists()


def test_other_years_record_is_not_used(
    provider, provider_user, approver, cohort_a, django_capture_on_commit_callbacks
):
    last_year = factories.CollectionFactory(reference="C22051", reporting_year=2022)
    approved_record(provider, provider_user, approver, last_year, BASE, django_capture_on_commit_callbacks)
    assert not PopulationBuild.objects.exists()
    with pytest.raises(ActionRefused):
        population_build(provider=provider, collection=cohort_a)


def test_rebuild_after_a_newer_approval_counts_what_changed(
    provider, provider_user, approver, sr_collection, cohort_a, django_capture_on_commit_callbacks
):
    first = approved_record(provider, provider_user, approver, sr_collection, BASE, django_capture_on_commit_callbacks)
    old = PopulationBuild.objects.get(collection=cohort_a, is_current=True)
    assert (old.graduate_count, old.added, old.removed, old.changed) == (3, None, None, None)

    newer = [
        graduate(1, "2023-08-01", SURNAME="Renamed"),  # changed
        graduate(2, "2023-10-31", domicile="FR"),  # the same
        # 7 left out: removed
        graduate(9, "2023-10-01", domicile="DE"),  # added
        graduate(10, "2023-08-31", domicile="US"),  # added
    ]
    second = approved_record(
        provider, provider_user, approver, sr_collection, newer, django_capture_on_commit_callbacks
    )
    new = PopulationBuild.objects.get(collection=cohort_a, is_current=True)
    assert new.pk != old.pk and new.source_submission_id == second.pk != first.pk
    assert (new.graduate_count, new.added, new.removed, new.changed) == (4, 2, 1, 1)
    old.refresh_from_db()
    assert not old.is_current and PopulationEntry.objects.filter(build=old).count() == 3  # kept
    assert entries(new)[husid(1)].surname == "Renamed"

    event = AuditEvent.objects.filter(action="population.rebuilt").get()
    assert event.actor is None and event.provider == provider and event.collection == cohort_a
    assert "2 added, 1 removed, 1 changed" in event.summary and f"from submission {second.pk}" in event.summary


def test_real_approval_rebuilds_and_closed_collections_stay(
    provider, provider_user, approver, sr_collection, cohort_a, django_capture_on_commit_callbacks
):
    now = timezone.now()
    closed = contact_collection("B", opens=now - timedelta(days=90), approval_deadline=now - timedelta(days=1))
    other_year = factories.CollectionFactory(
        reference="C22071", kind=CollectionKind.CONTACT_DETAILS, reporting_year=2022, cohort="A"
    )
    submission = process(provider, provider_user, sr_collection, student_record(*BASE[:3], instid=INSTID))
    assert submission.status == "passed", list(submission.rule_results.filter(failure_count__gt=0).values("code"))
    with django_capture_on_commit_callbacks(execute=True):
        review_services.submission_approve(submission=submission, user=approver)
    assert PopulationBuild.objects.get(collection=cohort_a).graduate_count == 2
    assert not PopulationBuild.objects.filter(collection__in=[closed, other_year]).exists()
    with pytest.raises(ActionRefused, match="closed on"):
        population_build(provider=provider, collection=closed, user=provider_user)


def test_manual_build_is_audited_and_makes_one_current(
    provider, provider_user, approver, sr_collection, cohort_a, django_capture_on_commit_callbacks
):
    approved_record(provider, provider_user, approver, sr_collection, BASE, django_capture_on_commit_callbacks)
    build = population_build(provider=provider, collection=cohort_a, user=provider_user)
    assert (build.added, build.removed, build.changed) == (0, 0, 0)
    assert PopulationBuild.objects.filter(collection=cohort_a, is_current=True).get() == build
    assert PopulationBuild.objects.filter(collection=cohort_a).count() == 2
    assert AuditEvent.objects.filter(action="population.rebuilt", actor=provider_user).exists()


def test_other_provider_cannot_build(provider, other_user, cohort_a):
    with pytest.raises(Exception, match="own staff"):
        population_build(provider=provider, collection=cohort_a, user=other_user)


# -- the page, downloads and API -------------------------------------------------------------------


@pytest.fixture
def built(provider, provider_user, approver, sr_collection, cohort_a, django_capture_on_commit_callbacks):
    """Cohort A built from BASE, then rebuilt from a newer approval (one of each change)."""
    approved_record(provider, provider_user, approver, sr_collection, BASE, django_capture_on_commit_callbacks)
    newer = [
        graduate(1, "2023-08-01", SURNAME="=Renamed"),  # a formula-like surname, for the CSV
        graduate(2, "2023-10-31", domicile="FR"),
        graduate(9, "2023-10-01", domicile="US", FNAMES="Zoë & Jo"),
    ]
    approved_record(provider, provider_user, approver, sr_collection, newer, django_capture_on_commit_callbacks)
    return PopulationBuild.objects.get(collection=cohort_a, is_current=True)


def page_url(collection, suffix="population/"):
    return f"/collections/{collection.reference}/{suffix}"


def body(response) -> str:
    return b"".join(response.streaming_content).decode("utf-8")


def test_page_shows_counts_changes_and_a_sortable_filterable_table(client, provider_user, cohort_a, built):
    client.force_login(provider_user)
    response = client.get(page_url(cohort_a))
    assert response.status_code == 200
    content = response.content.decode()
    assert "3 graduates" in content
    assert (
        "Rebuilt on" in content
        and f"from submission {built.source_submission_id}: 1 added, 1 removed, 1 changed" in content
    )
    assert response.context["counts"]["by_homeeuos"] == [
        ("1", "UK", 1),
        ("2", "EU", 1),
        ("3", "Overseas", 1),
        ("4", "Not known", 0),
    ]
    assert response.context["counts"]["by_qual1"] == [("01", 3)]
    assert 'id="rebuild"' in content and "Download the population (CSV)" in content

    rows = lambda r: [e.husid for e in r.context["page"]]  # noqa: E731
    assert rows(client.get(page_url(cohort_a), {"sort": "-husid"})) == sorted(
        [husid(1), husid(2), husid(9)], reverse=True
    )
    assert rows(client.get(page_url(cohort_a), {"surname": "renamed"})) == [husid(1)]
    assert rows(client.get(page_url(cohort_a), {"husid": husid(9)[:12]})) == [husid(9)]
    assert rows(client.get(page_url(cohort_a), {"husid": "99"})) == []


def test_page_without_a_build_says_why_and_what_to_do(client, provider_user, cohort_a):
    client.force_login(provider_user)
    content = client.get(page_url(cohort_a)).content.decode()
    assert "no approved Student record for 2023/24 yet" in content
    assert "What to do" in content and 'id="rebuild"' not in content
    assert client.get(page_url(cohort_a, "population.csv")).status_code == 404


def test_rebuild_now_button(client, provider_user, cohort_a, built):
    client.force_login(provider_user)
    response = client.post(page_url(cohort_a, "population/rebuild/"), follow=True)
    assert response.status_code == 200
    assert "0 added, 0 removed, 0 changed" in response.content.decode()
    assert PopulationBuild.objects.filter(collection=cohort_a).count() == 3


def test_csv_download(client, provider_user, cohort_a, built):
    client.force_login(provider_user)
    response = client.get(page_url(cohort_a, "population.csv"))
    assert response["Content-Disposition"] == 'attachment; filename="C23071-10007794-population.csv"'
    rows = list(csv.reader(io.StringIO(body(response).lstrip("\ufeff"))))
    assert rows[0] == [
        "HUSID",
        "NUMHUS",
        "OWNSTU",
        "FNAMES",
        "SURNAME",
        "QUAL1",
        "PTITLE",
        "DATELEFT",
        "DOMICILE",
        "HOMEEUOS",
    ]
    assert rows[1] == [husid(1), "1", "S00001", "Grad1", "'=Renamed", "01", "BSc Subject 1", "2023-08-01", "XF", "1"]
    assert [r[0] for r in rows[1:]] == [husid(1), husid(2), husid(9)]


def test_xml_download(client, provider_user, cohort_a, built):
    client.force_login(provider_user)
    response = client.get(page_url(cohort_a, "population.xml"))
    assert response["Content-Type"].startswith("application/xml")
    root = etree.fromstring(body(response).encode())
    assert root.tag == "ContactPopulation"
    provider_el = root.find("Provider")
    assert (provider_el.findtext("RECID"), provider_el.findtext("UKPRN")) == ("23071", "10007794")
    graduates = provider_el.findall("Graduate")
    assert [g.findtext("HUSID") for g in graduates] == [husid(1), husid(2), husid(9)]
    last = graduates[2]
    assert [child.tag for child in last] == [
        "HUSID",
        "NUMHUS",
        "OWNSTU",
        "FNAMES",
        "SURNAME",
        "QUAL1",
        "DATELEFT",
        "HOMEEUOS",
    ]
    assert (last.findtext("FNAMES"), last.findtext("DATELEFT"), last.findtext("HOMEEUOS")) == (
        "Zoë & Jo",
        "2023-10-01",
        "3",
    )


def test_other_provider_gets_404_and_liaison_chooses_the_provider(
    client, other_user, liaison, provider, cohort_a, built
):
    client.force_login(other_user)
    for suffix in ("population/", "population.csv", "population.xml"):
        assert client.get(page_url(cohort_a, suffix), {"provider": provider.ukprn}).status_code == 404
    assert client.post(page_url(cohort_a, "population/rebuild/"), {"provider": provider.ukprn}).status_code == 404
    own = client.get(page_url(cohort_a))  # their own provider has no population: nothing of A's shows
    assert own.status_code == 200 and husid(1) not in own.content.decode()

    client.force_login(liaison)
    chooser = client.get(page_url(cohort_a))
    assert chooser.status_code == 200 and "Choose a provider" in chooser.content.decode()
    response = client.get(page_url(cohort_a), {"provider": provider.ukprn})
    assert response.status_code == 200 and husid(1) in response.content.decode()
    assert client.get(page_url(cohort_a), {"provider": "19999999"}).status_code == 404
    assert client.get(page_url(cohort_a, "population.csv"), {"provider": provider.ukprn}).status_code == 200


def test_student_record_collection_has_no_population_page(client, provider_user, sr_collection):
    client.force_login(provider_user)
    assert client.get(page_url(sr_collection)).status_code == 404


def test_collection_page_and_dashboard_link_to_the_population(client, provider_user, cohort_a):
    client.force_login(provider_user)
    assert page_url(cohort_a) in client.get(f"/collections/{cohort_a.reference}/").content.decode()
    assert page_url(cohort_a) in client.get(reverse("dashboard")).content.decode()


def test_api_lists_filters_and_downloads(provider_user, liaison, other_user, provider, cohort_a, built):
    api = APIClient()
    api.force_authenticate(provider_user)
    url = f"/api/v1/collections/{cohort_a.reference}/population/"
    data = api.get(url).json()
    assert data["count"] == 3 and "next" in data
    assert data["results"][0] == {
        "husid": husid(1), "numhus": "1", "ownstu": "S00001", "fnames": "Grad1", "surname": "=Renamed", "qual1": "01",
        "ptitle": "BSc Subject 1", "dateleft": "2023-08-01", "domicile": "XF", "homeeuos": "1",
    }  # fmt: skip
    assert [r["husid"] for r in api.get(url, {"sort": "-dateleft"}).json()["results"]] == [husid(2), husid(9), husid(1)]
    assert api.get(url, {"surname": "RENAMED"}).json()["count"] == 1
    csv_response = api.get(url, {"format": "csv"})
    assert csv_response.status_code == 200 and csv_response["Content-Type"].startswith("text/csv")
    assert husid(9) in body(csv_response)
    xml = api.get(f"/api/v1/collections/{cohort_a.reference}/population.xml")
    assert xml.status_code == 200 and f"<HUSID>{husid(2)}</HUSID>" in body(xml)

    api.force_authenticate(liaison)
    assert api.get(url).status_code == 400
    assert api.get(url, {"provider": provider.ukprn}).json()["count"] == 3
    api.force_authenticate(other_user)
    assert api.get(url, {"provider": provider.ukprn}).status_code == 404
    missing = api.get(url)
    assert missing.status_code == 404 and "no approved Student record" in missing.json()["detail"]
