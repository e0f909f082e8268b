"""Contact details files through the real pipeline: stored when right, rejected with a located
message and nothing stored when cut short or the wrong file."""

import io

import pytest
from django.core.files.base import ContentFile

from collections_app.models import CollectionKind, SchemaError, Submission
from collections_app.pipeline.runner import submission_process
from contacts.models import ContactDetail, Graduate
from contacts.parse import parse_contact_details
from contacts.sample_data import write_cohort_file
from contacts.xmlwrite import GraduateDetails, write_contact_details

from .. import factories
from ..xmlbuild import student, student_record


@pytest.fixture
def contacts_collection(db):
    return factories.CollectionFactory(
        reference="C23071", name="Graduate Outcomes 2023/24 cohort A", kind=CollectionKind.CONTACT_DETAILS, cohort="A"
    )


def cohort(provider, *, graduates=3, seed=4, defect_rate=0.0, recid="23071", ukprn=None) -> bytes:
    out = io.StringIO()
    write_cohort_file(
        out, graduates=graduates, recid=recid, ukprn=ukprn or provider.ukprn, seed=seed, defect_rate=defect_rate
    )
    return out.getvalue().encode()


def submit(provider, user, collection, content: bytes, *, task_id="task-1") -> Submission:
    submission = factories.SubmissionFactory(
        provider=provider,
        uploaded_by=user,
        collection=collection,
        file=ContentFile(content, name="contacts.xml"),
        size=len(content),
    )
    submission_process(submission_id=submission.pk, task_id=task_id)
    submission.refresh_from_db()
    return submission


def stored(submission) -> int:
    return (
        Graduate.objects.filter(submission_id=submission.pk).count()
        + ContactDetail.objects.filter(submission_id=submission.pk).count()
    )


def last_line(content: bytes) -> int:
    return content.count(b"\n") + (0 if content.endswith(b"\n") else 1)


def the_error(submission) -> SchemaError:
    assert submission.status == "rejected", (submission.status, submission.error_message)
    assert stored(submission) == 0
    (error,) = SchemaError.objects.filter(submission=submission)
    return error


def test_a_cohort_file_is_stored(provider, provider_user, contacts_collection):
    content = cohort(provider, graduates=60, defect_rate=0.02)
    submission = submit(provider, provider_user, contacts_collection, content)
    assert submission.status in ("passed", "failed"), submission.error_message
    graduates = Graduate.objects.filter(submission_id=submission.pk)
    assert submission.student_count == submission.instance_count == graduates.count() > 50
    assert submission.file_recid == "23071" and submission.file_ukprn == provider.ukprn
    assert ContactDetail.objects.filter(submission_id=submission.pk).count() == content.count(b"<EMAIL>") + sum(
        content.count(tag) for tag in (b"<UKMOB>", b"<UKTEL>", b"<INTTEL>")
    ) - sum(graduates.values_list("merged", flat=True))


def test_changes_since_the_previous_upload_count_graduates(provider, provider_user, contacts_collection):
    first = [
        GraduateDetails("9811681234562", "1", details={"EMAIL": ["a@example.com"]}),
        GraduateDetails("9811681234563", "1", details={"UKMOB": ["07400 123456"]}),
        GraduateDetails("9811681234564", "1", gradstatus="01"),
        GraduateDetails("9811681234565", "1", details={"EMAIL": ["e@example.com"]}),
    ]
    second = [
        GraduateDetails("9811681234562", "1", details={"EMAIL": ["A@Example.com"]}),  # same, normalised
        GraduateDetails("9811681234563", "1", details={"UKMOB": ["07400 123457"]}),  # changed detail
        GraduateDetails("9811681234564", "1", gradstatus="02"),  # changed GRADSTATUS
        GraduateDetails("9811681234566", "1", details={"EMAIL": ["f@example.com"]}),  # added (and 65 removed)
    ]
    for graduates, task in ((first, "one"), (second, "two")):
        out = io.StringIO()
        write_contact_details(out, recid="23071", ukprn=provider.ukprn, graduates=graduates)
        latest = submit(provider, provider_user, contacts_collection, out.getvalue().encode(), task_id=task)
    assert (latest.records_added, latest.records_removed, latest.records_changed) == (1, 1, 2)


def test_every_cut_of_a_small_contact_file_is_rejected_as_incomplete(provider, tmp_path):
    whole = cohort(provider, graduates=3)
    path = tmp_path / "cut.xml"
    path.write_bytes(whole)
    assert parse_contact_details(path, submission_id=1, graduates_out=io.StringIO(), details_out=io.StringIO()).ok
    for cut in range(1, len(whole) - 1):
        path.write_bytes(whole[:cut])
        outcome = parse_contact_details(path, submission_id=1, graduates_out=io.StringIO(), details_out=io.StringIO())
        assert [e.message for e in outcome.errors] == [
            f"The file ends early, at line {last_line(whole[:cut])}: it is incomplete. Upload the whole file."
        ], (cut, whole[:cut][-40:])


def test_cuts_through_the_pipeline_store_nothing(provider, provider_user, contacts_collection):
    whole = cohort(provider, graduates=3)
    for cut in range(1, len(whole) - 1, 29):
        content = whole[:cut]
        error = the_error(submit(provider, provider_user, contacts_collection, content, task_id=f"cut{cut}"))
        assert error.line == last_line(content)
        assert "it is incomplete" in error.message


@pytest.mark.parametrize(
    "change,line_of,path,says",
    [
        (
            lambda c: c.replace(b"ContactDetailsRecord>", b"ContactDetails>"),
            b"<ContactDetails>",
            "/ContactDetails",
            "a Graduate Outcomes contact details file starts with <ContactDetailsRecord>",
        ),
        (
            lambda c: c.replace(b"<RECID>23071<", b"<RECID>22071<"),
            b"<RECID>",
            "/ContactDetailsRecord/Provider/RECID",
            "RECID 22071 is not this collection's (23071 for C23071)",
        ),
        (
            lambda c: c.replace(b"<UKPRN>10007794<", b"<UKPRN>10000001<"),
            b"<UKPRN>",
            "/ContactDetailsRecord/Provider/UKPRN",
            "UKPRN 10000001 is not University of Gloucestershire's UKPRN (10007794)",
        ),
        (
            lambda c: c.replace(b"<ContactDetailsRecord>", b'<ContactDetailsRecord xmlns="urn:x">'),
            b"<ContactDetailsRecord",
            "/ContactDetailsRecord",
            "is in the namespace urn:x; Graduate Outcomes contact details elements have no namespace",
        ),
    ],
)
def test_the_wrong_file_is_rejected_with_a_located_message(
    change, line_of, path, says, provider, provider_user, contacts_collection
):
    content = change(cohort(provider))
    error = the_error(submit(provider, provider_user, contacts_collection, content))
    assert error.line == content[: content.index(line_of)].count(b"\n") + 1
    assert error.path == path
    assert says in error.message


def test_a_student_record_file_in_a_contact_collection_says_which_file_it_is(
    provider, provider_user, contacts_collection
):
    content = student_record(student())
    error = the_error(submit(provider, provider_user, contacts_collection, content))
    assert error.path == "/StudentRecord"
    assert "This is a Student record file (<StudentRecord>), not a Graduate Outcomes contact details file" in (
        error.message
    )
    assert "Upload it to its own collection" in error.message


def test_a_contacts_file_in_a_student_record_collection_says_which_file_it_is(provider, provider_user, collection):
    error = the_error(submit(provider, provider_user, collection, cohort(provider)))
    assert error.path == "/ContactDetailsRecord"
    assert "This is a Graduate Outcomes contact details file (<ContactDetailsRecord>), not a Student record file" in (
        error.message
    )


def test_an_invalid_graduate_is_located(provider, provider_user, contacts_collection):
    content = cohort(provider).replace(b"<NUMHUS>1</NUMHUS>", b"<NUMHUS>1</NUMHUS><GRADSTATUS>09</GRADSTATUS>", 1)
    submission = submit(provider, provider_user, contacts_collection, content)
    assert submission.status == "rejected" and stored(submission) == 0
    error = SchemaError.objects.filter(submission=submission).first()
    assert error.path.startswith("/ContactDetailsRecord/Provider/Graduate[1]/GRADSTATUS")


def test_the_submission_page_counts_the_details_merged(client, provider, provider_user, contacts_collection):
    graduates = [
        GraduateDetails("9811681234562", "1", details={"EMAIL": ["a@example.com", "A@Example.com"]}),
        GraduateDetails("9811681234570", "1", details={"UKMOB": ["07911 123456", "+44 7911 123456"]}),
    ]
    out = io.StringIO()
    write_contact_details(out, recid="23071", ukprn=provider.ukprn, graduates=graduates)
    submission = submit(provider, provider_user, contacts_collection, out.getvalue().encode())
    assert submission.is_complete, (submission.status, submission.error_message)
    client.force_login(provider_user)
    page = client.get(f"/submissions/{submission.pk}/").content.decode()
    assert "2 details given twice for the same graduate were kept once" in page
