"""A contact details submission's page says what applies to contact details: its stage message
counts in words ("1 warning", not "1 warnings"), and re-running the checks runs the rules only (no
linking or credibility tables, which are the Student record's)."""

import html
import io
from datetime import date

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse

from collections_app.models import CollectionKind, SubmissionStatus
from collections_app.pipeline.runner import _counts_text, submission_process
from collections_app.services import submission_rerun
from contacts.models import PopulationBuild, PopulationEntry
from contacts.xmlwrite import GraduateDetails, write_contact_details

from .. import factories
from ..review_helpers import make_submission

MOBILE_ONLY = "9811681234563"


@pytest.fixture
def cohort(db):
    return factories.CollectionFactory(
        reference="C23071", name="Graduate Outcomes 2023/24 cohort A", kind=CollectionKind.CONTACT_DETAILS, cohort="A"
    )


@pytest.fixture
def one_warning(provider, provider_user, cohort):
    """A contact details upload through the real pipeline that passes with exactly one warning:
    its one graduate (in the population) has a mobile but no email (GO.EMAIL.01)."""
    build = PopulationBuild.objects.create(
        provider=provider, collection=cohort, source_submission=factories.SubmissionFactory(provider=provider)
    )
    PopulationEntry.objects.create(
        build=build, husid=MOBILE_ONLY, numhus="1", fnames="Pat", surname="Smith", qual1="BA",
        dateleft=date(2023, 9, 30), homeeuos="1",
    )  # fmt: skip
    out = io.StringIO()
    graduates = [GraduateDetails(MOBILE_ONLY, "1", details={"UKMOB": ["07911 123456"]})]
    write_contact_details(out, recid="23071", ukprn=provider.ukprn, graduates=graduates)
    content = out.getvalue().encode()
    submission = factories.SubmissionFactory(
        provider=provider,
        uploaded_by=provider_user,
        collection=cohort,
        file=ContentFile(content, name="contacts.xml"),
        size=len(content),
    )
    submission_process(submission_id=submission.pk, task_id="task-1")
    submission.refresh_from_db()
    assert (submission.status, submission.error_count, submission.warning_count) == (SubmissionStatus.PASSED, 0, 1)
    return submission


@pytest.mark.parametrize(
    ("errors", "warnings", "text"),
    [
        (0, 1, "0 errors, 1 warning"),
        (1, 0, "1 error, 0 warnings"),
        (1, 1, "1 error, 1 warning"),
        (2, 1_250, "2 errors, 1,250 warnings"),
    ],
)
def test_the_stage_message_counts_say_one_error_or_warning_in_the_singular(errors, warnings, text):
    assert _counts_text(errors, warnings) == text


def test_a_contact_upload_with_one_warning_says_1_warning(
    one_warning, provider_user, client, django_capture_on_commit_callbacks
):
    assert one_warning.stage_message == "Passed: 0 errors, 1 warning."
    with django_capture_on_commit_callbacks(execute=True):
        submission_rerun(submission=one_warning, user=provider_user)
    one_warning.refresh_from_db()
    assert one_warning.stage_message == "Re-run: passed: 0 errors, 1 warning."
    client.force_login(provider_user)
    assert "0 errors, 1 warning." in client.get(reverse("submission_detail", args=[one_warning.pk])).content.decode()


def test_rerunning_a_contact_submission_is_said_to_run_the_rules_only(one_warning, provider_user, client):
    client.force_login(provider_user)
    page = client.get(reverse("submission_detail", args=[one_warning.pk])).content.decode()
    assert "Re-run the checks" in page
    assert "Runs the rules again on the stored records, in place (after a tolerance or a rule changed)." in page
    assert "linking" not in page and "credibility tables" not in page


def test_rerunning_a_student_record_submission_still_names_linking_and_credibility(
    provider, provider_user, collection, client
):
    submission = make_submission(provider, collection)
    client.force_login(provider_user)
    page = html.unescape(client.get(reverse("submission_detail", args=[submission.pk])).content.decode())
    assert (
        "Runs the rules, linking and credibility tables again on the stored records, in place (after a tolerance, "
        "threshold, last year's data or a rule changed)." in page
    )
