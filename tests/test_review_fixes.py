"""Regression tests for defects found in review of review/ and audit/ (one test per fix)."""

import pytest
from django.urls import reverse

from review import services

from .review_helpers import make_submission


@pytest.mark.parametrize("target", ["/\\evil.example/", "/\\/evil.example/", "//evil.example/", "https://evil.example/"])
def test_next_after_a_liaison_action_is_never_another_site(client, provider, approver, liaison, collection, target):
    submission = make_submission(provider, collection)
    services.submission_approve(submission=submission, user=approver)
    client.force_login(liaison)
    response = client.post(
        reverse("collection_return", args=[provider.ukprn, collection.reference]),
        {"subject": "Please re-check", "body": "Totals look wrong.", "next": target},
    )
    assert response.status_code == 302 and response["Location"] == reverse("liaison_grid")


def test_next_after_a_liaison_action_keeps_our_own_path(client, provider, approver, liaison, collection):
    submission = make_submission(provider, collection)
    services.submission_approve(submission=submission, user=approver)
    client.force_login(liaison)
    detail = reverse("submission_detail", args=[submission.pk]) + "?tab=approval"
    response = client.post(
        reverse("collection_sign_off", args=[provider.ukprn, collection.reference]), {"next": detail}
    )
    assert response.status_code == 302 and response["Location"] == detail
