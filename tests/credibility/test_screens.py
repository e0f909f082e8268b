"""The credibility page, its drill-down and CSV, the provider's explanation, liaison's threshold
and queries from a cell, the submission page and grid counts, and the API."""

import csv
import io

import pytest
from rest_framework.test import APIClient

from audit.models import AuditEvent
from core.errors import ActionRefused
from credibility.models import CredibilityCell, CredibilityExplanation
from credibility.services import explanation_save
from review.models import Query

from ..factories import SubmissionFactory


def text_of(response) -> str:
    return b"".join(response.streaming_content).decode("utf-8-sig") if response.streaming else response.content.decode()


def test_the_page_shows_each_table_a_chart_and_highlights_flags(client, provider_user, two_years):
    current = two_years[1]
    client.force_login(provider_user)
    page = client.get(f"/submissions/{current.pk}/credibility/").content.decode()
    for key in ("level", "mode", "qualaim", "entrants", "leavers", "domicile", "gender", "ethnic"):
        assert f'id="credibility-{key}"' in page
    assert page.count('<svg class="credibility-chart"') == 9  # a chart per table and the trend
    assert '<tr id="cell-mode-DORMANT" class="flagged">' in page
    assert '<tr id="cell-mode-FT">' in page  # exactly 10%: not flagged
    assert "8 flagged figures" in page
    assert "<script>" not in page  # no inline script: the charts are SVG drawn on the server
    assert f"/submissions/{current.pk}/credibility/mode/DORMANT/" in page


def test_a_cell_drills_down_to_its_records_paginated_and_as_csv(client, provider_user, two_years):
    current = two_years[1]
    client.force_login(provider_user)
    page = client.get(f"/submissions/{current.pk}/credibility/mode/DORMANT/").content.decode()
    assert "25 records in this submission, against 0 last year" in page
    assert page.count('<td class="mono">64</td>') == 25
    big = client.get(f"/submissions/{current.pk}/credibility/level/UG/")
    assert "Page 1 of 5" in big.content.decode()  # 220 records, 50 a page
    rows = list(csv.reader(io.StringIO(text_of(client.get(f"/submissions/{current.pk}/credibility/level/UG.csv")))))
    assert rows[0][:3] == ["Line", "HUSID", "NUMHUS"] and len(rows) == 221
    assert {row[5] for row in rows[1:]} == {"21"}
    assert client.get(f"/submissions/{current.pk}/credibility/level/XX/").status_code == 404
    assert client.get(f"/submissions/{current.pk}/credibility/nosuch/UG/").status_code == 404


def test_the_table_csv(client, liaison, two_years):
    client.force_login(liaison)
    rows = list(csv.DictReader(io.StringIO(text_of(client.get(f"/submissions/{two_years[1].pk}/credibility.csv")))))
    dormant = next(r for r in rows if r["table"] == "mode" and r["category"] == "DORMANT")
    assert (dormant["this_submission"], dormant["previous_year"], dormant["change"], dormant["flagged"]) == (
        "25",
        "0",
        "25",
        "yes",
    )
    ft = next(r for r in rows if r["table"] == "mode" and r["category"] == "FT")
    assert (ft["change_percent"], ft["flagged"]) == ("10.0", "no")


def test_another_provider_sees_nothing(client, other_user, two_years):
    client.force_login(other_user)
    assert client.get(f"/submissions/{two_years[1].pk}/credibility/").status_code == 404
    assert client.get(f"/submissions/{two_years[1].pk}/credibility/mode/FT/").status_code == 404


def test_the_provider_explains_a_flagged_cell_and_liaison_reads_it(client, provider_user, liaison, two_years):
    current = two_years[1]
    client.force_login(provider_user)
    response = client.post(
        f"/submissions/{current.pk}/credibility/explain/",
        {"table": "mode", "category": "DORMANT", "text": "A cohort suspended their studies."},
    )
    assert response.status_code == 302 and response["Location"].endswith("#cell-mode-DORMANT")
    explanation = CredibilityExplanation.objects.get(submission=current, table="mode", category="DORMANT")
    assert explanation.text == "A cohort suspended their studies." and explanation.explained_by == provider_user
    event = AuditEvent.objects.get(action="credibility.explained")
    assert event.submission_id == current.pk and "Dormant" in event.summary
    # Changed: one row, the new text, audited again.
    client.post(
        f"/submissions/{current.pk}/credibility/explain/",
        {"table": "mode", "category": "DORMANT", "text": "Suspended: see the query."},
    )
    assert CredibilityExplanation.objects.get(submission=current).text == "Suspended: see the query."
    assert AuditEvent.objects.filter(action="credibility.explained").count() == 2

    client.force_login(liaison)
    page = client.get(f"/submissions/{current.pk}/credibility/").content.decode()
    assert 'id="explanation-mode-DORMANT"' in page and "Suspended: see the query." in page
    assert "Explain this figure" not in page  # liaison read, the provider explains
    assert "Raise a query about this figure" in page
    # ... and liaison cannot explain.
    client.post(f"/submissions/{current.pk}/credibility/explain/", {"table": "mode", "category": "FT", "text": "x"})
    assert not CredibilityExplanation.objects.filter(category="FT").exists()


def test_an_empty_or_unknown_explanation_is_refused(client, provider_user, two_years):
    client.force_login(provider_user)
    url = f"/submissions/{two_years[1].pk}/credibility/explain/"
    client.post(url, {"table": "mode", "category": "DORMANT", "text": "  "})
    client.post(url, {"table": "mode", "category": "NOPE", "text": "why"})
    assert not CredibilityExplanation.objects.exists()


def test_an_unflagged_figure_cannot_be_explained(client, provider_user, two_years):
    """Defect: posting the form for a figure that is not flagged (full-time, 220 against 200: exactly
    10%) saved an explanation nobody asked for."""
    current = two_years[1]
    assert not CredibilityCell.objects.get(submission=current, table="mode", category="FT").flagged
    client.force_login(provider_user)
    response = client.post(
        f"/submissions/{current.pk}/credibility/explain/",
        {"table": "mode", "category": "FT", "text": "More students stayed on."},
        follow=True,
    )
    assert "This figure is not flagged, so it needs no explanation" in response.content.decode()
    assert not CredibilityExplanation.objects.exists()
    assert not AuditEvent.objects.filter(action="credibility.explained").exists()
    with pytest.raises(ActionRefused) as refused:
        explanation_save(submission=current, table="mode", category="FT", text="More.", user=provider_user)
    assert refused.value.code == "not_flagged"


def test_an_explanation_kept_from_a_flag_can_still_be_changed(provider_user, two_years):
    """The page offers the form beside an explanation even once the threshold no longer flags it."""
    current = two_years[1]
    explanation_save(submission=current, table="mode", category="DORMANT", text="Suspended.", user=provider_user)
    CredibilityCell.objects.filter(submission=current, table="mode", category="DORMANT").update(flagged=False)
    explanation_save(submission=current, table="mode", category="DORMANT", text="Resumed.", user=provider_user)
    assert CredibilityExplanation.objects.get(submission=current).text == "Resumed."


def test_liaison_raises_a_query_from_a_cell(client, liaison, two_years):
    current = two_years[1]
    client.force_login(liaison)
    page = client.get(f"/submissions/{current.pk}/credibility/").content.decode()
    assert f'action="/submissions/{current.pk}/queries/"' in page
    client.post(
        f"/submissions/{current.pk}/queries/",
        {"subject": "Credibility: Instances by mode of study, Dormant (MODE 63, 64)", "body": "Why so many?"},
    )
    assert Query.objects.get(submission=current).subject.startswith("Credibility: Instances by mode")


def test_liaison_changes_the_threshold_and_flags_follow(client, liaison, provider_user, two_years):
    current = two_years[1]
    collection = current.collection
    client.force_login(provider_user)
    client.post(f"/collections/{collection.reference}/credibility-threshold/", {"percent": "5", "min_records": "5"})
    assert CredibilityCell.objects.filter(submission=current, flagged=True).count() == 8  # refused
    client.force_login(liaison)
    response = client.post(
        f"/collections/{collection.reference}/credibility-threshold/",
        {"percent": "9.99", "min_records": "20", "submission": current.pk},
    )
    assert response["Location"] == f"/submissions/{current.pk}/credibility/"
    # Full-time, 220 against 200 (exactly 10%), is now over 9.99%; UG level and QUALAIM 21 and UK, F and 10 too.
    assert CredibilityCell.objects.get(submission=current, table="mode", category="FT").flagged
    assert CredibilityCell.objects.filter(submission=current, flagged=True).count() == 8 + 6
    event = AuditEvent.objects.get(action="credibility.threshold_set")
    assert "9.99%" in event.summary and "was 10%" in event.summary
    client.post(f"/collections/{collection.reference}/credibility-threshold/", {"percent": "-1", "min_records": "1"})
    assert AuditEvent.objects.filter(action="credibility.threshold_set").count() == 1


@pytest.mark.parametrize(
    "percent,min_records", [("NaN", "5"), ("sNaN", "5"), ("Infinity", "5"), ("5", "100000000000000000000"), ("5", "-1")]
)
def test_a_threshold_out_of_range_is_refused_not_a_server_error(client, liaison, two_years, percent, min_records):
    collection = two_years[1].collection
    client.force_login(liaison)
    url = f"/collections/{collection.reference}/credibility-threshold/"
    response = client.post(url, {"percent": percent, "min_records": min_records}, follow=True)
    assert response.status_code == 200
    assert "the records between 0 and 10,000,000" in response.content.decode()
    assert not AuditEvent.objects.filter(action="credibility.threshold_set").exists()


def test_the_submission_page_and_the_grid_count_flags(client, liaison, provider_user, two_years):
    current = two_years[1]
    client.force_login(provider_user)
    page = client.get(f"/submissions/{current.pk}/").content.decode()
    assert '<strong id="credibility-flags">8 flagged figures</strong>' in page
    assert "(not explained)" in page and "Instances by mode of study: Dormant" in page
    client.force_login(liaison)
    grid = client.get("/liaison/grid/?closed=1").content.decode()
    assert f'href="/submissions/{current.pk}/credibility/"' in grid and "8 flags" in grid


def test_the_submission_page_says_plainly_when_there_is_no_previous_year(client, provider_user, two_years):
    """Defect: it read "No flagged figures against no previous-year submission."."""
    first_year = two_years[0]  # C22051 has no previous collection
    client.force_login(provider_user)
    page = client.get(f"/submissions/{first_year.pk}/").content.decode()
    assert "against no previous-year submission" not in page
    assert (
        '<span id="credibility-flags">No flagged figures</span>: there is no approved previous-year submission '
        "to compare with, so nothing can be flagged."
    ) in page


def test_the_api_gives_tables_flags_and_explanations(provider_user, other_user, two_years):
    current = two_years[1]
    CredibilityExplanation.objects.create(
        submission=current, table="mode", category="DORMANT", text="Suspended.", explained_by=provider_user
    )
    api = APIClient()
    api.force_authenticate(provider_user)
    data = api.get(f"/api/v1/submissions/{current.pk}/credibility/").json()
    assert data["submission"] == current.pk and data["previous_year_submission"] == two_years[0].pk
    assert data["approved_submission"] is None
    assert (data["flagged"], data["explained"]) == (8, 1)
    assert data["threshold"] == {"percent": "10.00", "min_records": 20, "is_default": True}
    mode = next(t for t in data["tables"] if t["key"] == "mode")
    dormant = next(c for c in mode["cells"] if c["category"] == "DORMANT")
    assert dormant["count"] == 25 and dormant["previous_count"] == 0 and dormant["change_percent"] is None
    assert dormant["flagged"] and dormant["explanation"]["text"] == "Suspended."
    ft = next(c for c in mode["cells"] if c["category"] == "FT")
    assert (ft["change"], ft["change_percent"], ft["flagged"], ft["explanation"]) == (20, "10.0", False, None)
    response = api.get(f"/api/v1/submissions/{current.pk}/credibility.csv")
    assert response.status_code == 200 and "mode,DORMANT" in text_of(response)
    api.force_authenticate(other_user)
    assert api.get(f"/api/v1/submissions/{current.pk}/credibility/").status_code == 404


def test_a_contact_details_submission_has_no_credibility_page(client, liaison, db):
    from ..factories import CollectionFactory

    contacts = CollectionFactory(reference="C23071", kind="contact_details")
    submission = SubmissionFactory(collection=contacts)
    client.force_login(liaison)
    assert client.get(f"/submissions/{submission.pk}/credibility/").status_code == 404
