"""Small things a new user tripped on (issue 12, item 14): the API root the account page's curl
example points at, the demo's printed address, accessible link names, a prominent warning when
an upload loses many of the previous upload's records."""

import io
import re

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from collections_app.models import Submission
from collections_app.selectors import records_drop_warning
from portal.management.commands.demo_data import demo_url
from student_record.sample_data import write_student_record

from ..factories import SubmissionFactory


def test_the_api_root_lists_every_resource_with_a_working_url(provider_user):
    api = APIClient()
    api.force_authenticate(provider_user)
    body = api.get("/api/v1/").json()
    assert set(body["resources"]) >= {"collections", "providers", "queries", "review_grid", "audit"}
    for name, resource in body["resources"].items():
        assert api.get(resource["url"]).status_code == 200, name
    assert api.get(body["schema"]).status_code == 200


def test_the_api_root_asks_for_credentials(db):
    assert APIClient().get("/api/v1/").status_code == 401


def test_the_demo_says_the_address_it_serves_on(monkeypatch):
    monkeypatch.delenv("DEMO_ADDR", raising=False)
    assert demo_url() == "http://127.0.0.1:8000/"
    monkeypatch.setenv("DEMO_ADDR", "0.0.0.0:8080")
    assert demo_url() == "http://0.0.0.0:8080/"


@pytest.fixture
def failed_upload(provider, provider_user, collection, client, django_capture_on_commit_callbacks):
    def upload(instances: int, seed: int = 2):
        out = io.StringIO()
        write_student_record(out, instances=instances, recid="23051", instid=provider.instid, ukprn=provider.ukprn,
                             reporting_year=2023, seed=seed, defect_rate=0.3)  # fmt: skip
        client.force_login(provider_user)
        with django_capture_on_commit_callbacks(execute=True):
            client.post(
                reverse("collection_upload", args=[collection.reference]), {"file": io.BytesIO(out.getvalue().encode())}
            )
        return Submission.objects.latest("pk")

    return upload


def test_failure_links_repeated_down_the_table_have_names_of_their_own(failed_upload, client):
    submission = failed_upload(80)
    page = client.get(reverse("submission_detail", args=[submission.pk])).content.decode()
    codes = [s.code for s in submission.rule_results.filter(failure_count__gt=0)]
    assert codes
    for code in codes:
        assert f'View<span class="visually-hidden"> the failures of {code}</span>' in page
        assert f'CSV<span class="visually-hidden"> of the failures of {code}</span>' in page


def test_an_upload_that_loses_many_records_says_so_prominently(failed_upload, client):
    first = failed_upload(200)
    second = failed_upload(60)  # the same students' first 60: 140 of 200 records gone
    second.refresh_from_db()
    assert second.previous_submission_id == first.pk and second.records_removed >= 100
    warning = records_drop_warning(submission=second)
    assert f"{second.records_removed:,} of the 200 records of submission {first.pk} are missing" in warning
    page = client.get(reverse("submission_detail", args=[second.pk])).content.decode()
    assert 'role="alert" id="records-drop"' in page and "upload the whole file again" in page


def test_a_few_records_gone_is_not_an_alarm(db):
    previous = SubmissionFactory(instance_count=1000)
    current = SubmissionFactory(previous_submission=previous, records_added=5, records_removed=99)
    assert records_drop_warning(submission=current) == ""
    current.records_removed = 100
    assert "100 of the 1,000 records" in records_drop_warning(submission=current)


def test_every_page_names_its_icon_so_browsers_do_not_ask_for_a_missing_favicon_ico(client, provider_user):
    from django.contrib.staticfiles import finders

    for url in ("/login/", "/dashboard/", "/api/docs/"):
        page = client.get(url).content.decode()
        client.force_login(provider_user)
        icon = re.search(r'<link rel="icon" href="/static/([^"]+)" type="image/svg\+xml">', page)
        assert icon, url
        assert finders.find(icon.group(1)), icon.group(1)


def test_an_action_opened_in_the_browser_gets_a_page_saying_what_to_do(client, provider_user):
    """GET of a POST-only address (a bookmark, a sign-in returning to it) was a blank 405."""
    submission = SubmissionFactory(provider=provider_user.provider, uploaded_by=provider_user)
    client.force_login(provider_user)
    response = client.get(f"/submissions/{submission.pk}/approve/")
    page = response.content.decode()
    assert response.status_code == 405 and response["Allow"] == "POST"
    assert "Use the button on the page" in page
    assert f'<a href="/submissions/{submission.pk}/">the page it belongs to</a>' in page
    api = APIClient()
    api.force_authenticate(provider_user)
    refused = api.delete(f"/api/v1/submissions/{submission.pk}/")
    assert refused.status_code == 405 and "detail" in refused.json()  # the API answers in JSON as before
