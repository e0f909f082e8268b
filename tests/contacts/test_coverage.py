"""Coverage figures of a contact details submission: the measures, by HOMEEUOS, against the previous
cohort, the nothing-usable list and CSV, and who may see them."""

from __future__ import annotations

import csv
import io
import re

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from collections_app.models import SubmissionStatus
from contacts import coverage

from .. import factories
from ..survey.go_data import approve, contact_collection, contact_submission, email, phone, population

H = [f"23016800000{n:02d}" for n in range(1, 7)]


@pytest.fixture
def cohort(provider, provider_user, approver):
    provider.email_domains = ["glos.ac.uk"]
    provider.save()
    previous_collection = contact_collection("C23071", cohort="A")
    collection = contact_collection("C23072", cohort="B")
    previous = contact_submission(
        provider,
        previous_collection,
        [("2201680000001", "1", "", [email("me@gmail.com")]), ("2201680000002", "1", "", [])],
    )
    approve(previous, approver)
    # A newer upload of the previous cohort that is not approved: not what is compared with.
    contact_submission(provider, previous_collection, [("2201680000003", "1", "", [])])
    submission = contact_submission(
        provider,
        collection,
        [
            (H[0], "1", "", [email("p@gmail.com"), phone("UKMOB", "+447911123456", "mobile")]),
            (H[1], "1", "", [email("x@GLOS.ac.uk")]),  # the provider's own domain: not personal
            (H[2], "1", "", [email("y@students.glos.ac.uk"), phone("INTTEL", "+33612345678", "mobile")]),
            (H[3], "1", "", [email("info@example.com", role_mailbox=True)]),  # a role mailbox: not usable
            (
                H[4],
                "1",
                "",
                [
                    phone("UKTEL", "+441242123456", "fixed_line"),
                    phone("UKMOB", "+441242000000", "fixed_line", problem="Not a UK mobile number."),
                ],
            ),
            (H[5], "1", "01", []),
        ],
        user=provider_user,
    )
    population(
        provider,
        collection,
        previous,
        [(H[0], "1", "1"), (H[1], "1", "1"), (H[2], "1", "2"), (H[3], "1", "3"), (H[5], "1", "1")],
    )  # H[4] missing: 4
    return {"submission": submission, "previous": previous, "collection": collection}


def test_counts(cohort):
    result = coverage.coverage_for(submission=cohort["submission"])
    total = result.current.total
    assert (total.graduates, total.personal_email, total.mobile, total.any_contact, total.nothing) == (6, 1, 2, 4, 2)
    assert str(total.percent("personal_email")) == "16.67"  # rounded, not truncated
    assert str(total.percent("any_contact")) == "66.67"


@pytest.mark.parametrize(
    ("count", "total", "shown"),
    [
        (11, 13, "84.62"),  # the tester's example: 84.615...%, was truncated to 84.61
        (1, 300, "0.33"),
        (2, 300, "0.67"),
        (1, 8, "12.50"),
        (0, 13, "0.00"),
        (13, 13, "100.00"),
        (1, 100_000, "0.01"),  # some graduates are never shown as none
        (99_999, 100_000, "99.99"),  # nor fewer than all as every one
        (0, 0, "0"),
    ],
)
def test_percentages_are_rounded_to_two_places(count, total, shown):
    assert str(coverage.percent_of(count, total)) == shown


def test_by_homeeuos(cohort):
    by = coverage.coverage_for(submission=cohort["submission"]).current.by_homeeuos
    assert list(by) == ["1", "2", "3", "4"]
    figures = {code: (f.graduates, f.personal_email, f.mobile, f.any_contact, f.nothing) for code, f in by.items()}
    assert figures == {"1": (3, 1, 1, 2, 1), "2": (1, 0, 1, 1, 0), "3": (1, 0, 0, 0, 1), "4": (1, 0, 0, 1, 0)}


def test_previous_cohort_comparison(cohort):
    result = coverage.coverage_for(submission=cohort["submission"])
    assert result.previous_collection.reference == "C23071"
    assert result.previous.submission_id == cohort["previous"].pk
    previous = result.previous.total
    assert (previous.graduates, previous.personal_email, previous.nothing) == (2, 1, 1)
    rows = {row["measure"]: row for row in coverage.measure_rows(result)}
    assert str(rows["personal_email"]["previous_percent"]) == "50.00"
    assert str(rows["personal_email"]["change"]) == "-33.33"


def test_previous_cohort_of_a_is_d_of_the_year_before(db):
    a = contact_collection("C23071", year=2023, cohort="A")
    d = contact_collection("C22074", year=2022, cohort="D")
    c = contact_collection("C23073", year=2023, cohort="C")
    b = contact_collection("C23072", year=2023, cohort="B")
    assert coverage.previous_cohort_collection(collection=a) == d
    assert coverage.previous_cohort_collection(collection=c) == b
    assert coverage.previous_cohort_collection(collection=d) is None


def test_no_approved_previous_submission(cohort):
    cohort["previous"].__class__.objects.filter(pk=cohort["previous"].pk).update(status=SubmissionStatus.SUPERSEDED)
    result = coverage.coverage_for(submission=cohort["submission"])
    assert result.previous_collection is not None and result.previous is None


def test_page_and_nothing_usable_csv(cohort, provider_user, liaison, client):
    submission = cohort["submission"]
    client.force_login(provider_user)
    page = client.get(reverse("submission_coverage", kwargs={"pk": submission.pk}))
    assert page.status_code == 200
    body = page.content.decode()
    # Drawn on the server: an SVG, no script of its own (the page's only script is the layout one).
    assert "<svg" in body and 'role="img"' in body
    assert re.findall(r"<script[^>]*>", body) == ['<script src="/static/portal/layout.js">']
    assert H[3] in body and H[5] in body and H[0] not in body  # the nothing-usable list
    response = client.get(reverse("submission_coverage_nothing_usable_csv", kwargs={"pk": submission.pk}))
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert rows[0] == ["LINE", "HUSID", "NUMHUS", "FNAMES", "SURNAME", "GRADSTATUS", "HOMEEUOS"]
    assert [(row[1], row[5], row[6]) for row in rows[1:]] == [(H[3], "", "3"), (H[5], "01", "1")]
    client.force_login(liaison)
    assert client.get(reverse("submission_coverage", kwargs={"pk": submission.pk})).status_code == 200


def test_other_provider_and_other_kinds_get_404(cohort, other_user, provider_user, client):
    submission = cohort["submission"]
    client.force_login(other_user)
    assert client.get(reverse("submission_coverage", kwargs={"pk": submission.pk})).status_code == 404
    assert client.get(f"/api/v1/submissions/{submission.pk}/coverage/").status_code == 404
    student_record = factories.SubmissionFactory(provider=provider_user.provider, uploaded_by=provider_user)
    client.force_login(provider_user)
    assert client.get(reverse("submission_coverage", kwargs={"pk": student_record.pk})).status_code == 404


def test_api(cohort, provider_user):
    client = APIClient()
    client.force_authenticate(provider_user)
    data = client.get(f"/api/v1/submissions/{cohort['submission'].pk}/coverage/").json()
    assert data["graduates"] == 6 and data["previous"]["collection"] == "C23071"
    measures = {m["measure"]: m for m in data["measures"]}
    assert (measures["mobile"]["count"], measures["mobile"]["previous_count"]) == (2, 0)
    assert measures["nothing"]["percent"] == "33.33"
    overseas = next(row for row in data["by_homeeuos"] if row["homeeuos"] == "3")
    assert {m["measure"]: m["count"] for m in overseas["measures"]}["nothing"] == 1


def test_submission_page_links_to_coverage(cohort, provider_user, client):
    client.force_login(provider_user)
    submission = cohort["submission"]
    body = client.get(reverse("submission_detail", kwargs={"pk": submission.pk})).content.decode()
    assert reverse("submission_coverage", kwargs={"pk": submission.pk}) in body
