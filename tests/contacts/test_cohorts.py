"""Cohort schedules: defaults from year and cohort (the agency's real C22071 dates), and the
liaison form and API filling them in and refusing a contact collection without a cohort or with
dates out of order."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from rest_framework.test import APIClient

from collections_app import collection_services
from collections_app.cohorts import cohort_schedule, course_end_window
from collections_app.forms import CollectionForm
from collections_app.models import Collection, CollectionKind

from .. import factories

LONDON = ZoneInfo("Europe/London")

# C22071 as the agency ran it: contact period and approval deadline per cohort.
C22071 = {
    "A": (date(2023, 12, 1), date(2024, 2, 29), date(2023, 11, 24)),
    "B": (date(2024, 3, 1), date(2024, 5, 31), date(2024, 2, 16)),
    "C": (date(2024, 6, 1), date(2024, 8, 31), date(2024, 5, 17)),
    "D": (date(2024, 9, 1), date(2024, 11, 30), date(2024, 8, 16)),
}


@pytest.mark.parametrize("cohort", "ABCD")
def test_c22071_contact_period_and_final_updates_are_the_agencys(cohort):
    start, end, real_approval = C22071[cohort]
    schedule = cohort_schedule(2022, cohort)
    assert (schedule.contact_period_start, schedule.contact_period_end) == (start, end)
    # One week before the contact period ends, at the portal's deadline time, UK time.
    final = end - timedelta(days=7)
    assert schedule.final_updates_deadline == datetime(final.year, final.month, final.day, 17, 0, tzinfo=LONDON)
    # "About two weeks before": within a week of the agency's date, a Friday, before the period starts.
    approval = schedule.approval_deadline.astimezone(LONDON)
    assert abs((approval.date() - real_approval).days) <= 7
    assert approval.weekday() == 4 and approval.hour == 17
    assert 14 <= (start - approval.date()).days <= 20
    assert schedule.opens < schedule.approval_deadline


def test_approval_deadlines_b_c_d_match_the_agency_exactly():
    for cohort in "BCD":
        assert cohort_schedule(2022, cohort).approval_deadline.date() == C22071[cohort][2]


def test_cohort_a_of_a_leap_year_ends_29_february_else_28():
    assert cohort_schedule(2022, "A").contact_period_end == date(2024, 2, 29)
    assert cohort_schedule(2023, "A").contact_period_end == date(2025, 2, 28)
    assert cohort_schedule(2022, "A").final_updates_deadline.date() == date(2024, 2, 22)


def test_course_end_windows():
    assert course_end_window(2023, "A") == (date(2023, 8, 1), date(2023, 10, 31))
    assert course_end_window(2023, "B") == (date(2023, 11, 1), date(2024, 1, 31))
    assert course_end_window(2023, "C") == (date(2024, 2, 1), date(2024, 4, 30))
    assert course_end_window(2023, "D") == (date(2024, 5, 1), date(2024, 7, 31))


def test_unknown_cohort_is_refused():
    with pytest.raises(ValueError, match="Unknown cohort"):
        cohort_schedule(2022, "E")


def test_collection_knows_its_course_end_window(db):
    contact = factories.CollectionFactory(reference="C23071", kind=CollectionKind.CONTACT_DETAILS, cohort="B")
    assert contact.course_end_window == (date(2023, 11, 1), date(2024, 1, 31))
    assert factories.CollectionFactory().course_end_window is None


def form_data(**overrides):
    data = {
        "reference": "C22071",
        "name": "Graduate Outcomes contact details 2022/23 cohort B",
        "kind": CollectionKind.CONTACT_DETAILS,
        "reporting_year": "2022",
        "cohort": "B",
        "opens": "",
        "approval_deadline": "",
        "final_updates_deadline": "",
        "contact_period_start": "",
        "contact_period_end": "",
        "previous": "",
    }
    data.update(overrides)
    return data


@pytest.fixture
def liaison_client(client, liaison):
    client.force_login(liaison)
    return client


def test_form_prefills_the_cohorts_dates_when_left_blank(liaison_client):
    response = liaison_client.post(reverse("collection_create"), form_data())
    assert response.status_code == 302, response.context["form"].errors
    created = Collection.objects.get(reference="C22071")
    assert (created.contact_period_start, created.contact_period_end) == (date(2024, 3, 1), date(2024, 5, 31))
    assert created.approval_deadline == datetime(2024, 2, 16, 17, 0, tzinfo=LONDON)
    assert created.final_updates_deadline == datetime(2024, 5, 24, 17, 0, tzinfo=LONDON)
    assert created.opens < created.approval_deadline


def test_form_keeps_what_liaison_entered(liaison_client):
    data = form_data(approval_deadline="2024-02-09T12:00", contact_period_end="2024-05-30")
    assert liaison_client.post(reverse("collection_create"), data).status_code == 302
    created = Collection.objects.get(reference="C22071")
    assert created.approval_deadline == datetime(2024, 2, 9, 12, 0, tzinfo=LONDON)
    assert created.contact_period_end == date(2024, 5, 30)
    # The final-updates default follows the period liaison set.
    assert created.final_updates_deadline == datetime(2024, 5, 23, 17, 0, tzinfo=LONDON)


def test_form_refuses_a_contact_collection_without_a_cohort(db):
    form = CollectionForm(data=form_data(cohort=""))
    assert not form.is_valid()
    assert "Choose the Graduate Outcomes cohort" in form.errors["cohort"][0]


def test_form_refuses_dates_out_of_order(db):
    form = CollectionForm(
        data=form_data(approval_deadline="2024-03-05T17:00", final_updates_deadline="2024-06-03T17:00")
    )
    assert not form.is_valid()
    assert "must be before the contact period starts (1 Mar 2024)" in form.errors["approval_deadline"][0]
    assert "must be before the contact period ends (31 May 2024)" in form.errors["final_updates_deadline"][0]
    form = CollectionForm(data=form_data(contact_period_start="2024-05-01", contact_period_end="2024-04-01"))
    assert not form.is_valid()
    assert "cannot end before it starts" in form.errors["contact_period_end"][0]


def test_student_record_still_needs_its_dates(db):
    form = CollectionForm(data=form_data(kind=CollectionKind.STUDENT_RECORD, cohort="", reference="C22051"))
    assert not form.is_valid()
    assert form.errors["opens"] == ["This field is required."]
    assert form.errors["approval_deadline"] == ["This field is required."]


def test_service_fills_defaults_and_refuses_order(db):
    created = collection_services.collection_create(
        reference="C22071", name="GO D", kind=CollectionKind.CONTACT_DETAILS, reporting_year=2022, cohort="D"
    )
    assert created.contact_period_start == date(2024, 9, 1)
    assert created.approval_deadline.astimezone(LONDON).date() == date(2024, 8, 16)
    with pytest.raises(ValidationError) as excinfo:
        collection_services.collection_update(
            collection=created, approval_deadline=datetime(2024, 9, 2, 17, 0, tzinfo=LONDON)
        )
    assert "approval_deadline" in excinfo.value.message_dict


def test_api_fills_defaults_and_refuses_without_cohort(liaison):
    api = APIClient()
    api.force_authenticate(liaison)
    body = {"reference": "C22071", "name": "GO A", "kind": "contact_details", "reporting_year": 2022, "cohort": "A"}
    response = api.post("/api/v1/collections/", body, format="json")
    assert response.status_code == 201, response.json()
    data = response.json()
    assert (data["contact_period_start"], data["contact_period_end"]) == ("2023-12-01", "2024-02-29")
    assert (data["course_end_from"], data["course_end_to"]) == ("2022-08-01", "2022-10-31")
    assert data["final_updates_deadline"].startswith("2024-02-22T17:00")
    response = api.post("/api/v1/collections/", {**body, "reference": "C22072", "cohort": ""}, format="json")
    assert response.status_code == 400
    assert "cohort" in response.json()
