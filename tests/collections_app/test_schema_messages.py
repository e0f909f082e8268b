"""Schema errors as sentences a data manager can act on, with the record they are in (issue 12, item 7)."""

import csv
import io

import pytest
from django.urls import reverse

from collections_app.models import Submission
from collections_app.pipeline.locate import plain_message

from ..xmlbuild import VALID_HUSID, instance, student, student_record

SECOND_HUSID = "9811681234570"


@pytest.mark.parametrize(
    ("libxml2", "sentence"),
    [
        (
            "Element 'GENDER': [facet 'enumeration'] The value 'Q' is not an element of the set {'M', 'F', 'X', '9'}.",
            "GENDER is Q; allowed: M, F, X, 9.",
        ),
        (
            "Element 'HUSID': [facet 'pattern'] The value '12ab' is not accepted by the pattern '\\d{13}'.",
            "HUSID is 12ab; it must be 13 digits.",
        ),
        (
            "Element 'BIRTHDTE': '2001-13-01' is not a valid value of the atomic type 'Date'.",
            "BIRTHDTE is 2001-13-01; not a valid date (a date that exists, written YYYY-MM-DD).",
        ),
        (
            "Element 'SURNAME': [facet 'maxLength'] The value has a length of '120'; this exceeds the allowed "
            "maximum length of '100'.",
            "SURNAME is 120 characters long; at most 100 are allowed.",
        ),
        (
            "Element 'BIRTHDTE': This element is not expected. Expected is ( SURNAME ).",
            "BIRTHDTE is not expected here; SURNAME should come here.",
        ),
        (
            "Element 'FNAMES': [facet 'pattern'] The value ' ' is not accepted by the pattern '\\S(.*\\S)?'.",
            "FNAMES is ' '; it must not be blank or start or end with a space.",
        ),
        (
            "Element 'Student': Missing child element(s). Expected is ( ETHNIC ).",
            "Student is missing ETHNIC.",
        ),
        (  # e.g. an xi:include (never expanded) put inside OWNSTU
            "Element 'OWNSTU': Element content is not allowed, because the type definition is simple.",
            "OWNSTU must hold a plain value, not other elements: remove the elements inside it.",
        ),
        # A shape not known keeps libxml2's words, without the element prefix.
        ("Element 'X': Something new happened.", "Something new happened."),
    ],
)
def test_libxml2_messages_become_sentences(libxml2, sentence):
    assert plain_message(libxml2) == sentence


@pytest.fixture
def rejected(client, provider_user, collection, django_capture_on_commit_callbacks):
    content = student_record(
        student(OWNSTU="S-001"),
        student(instance(MODE="7"), HUSID=SECOND_HUSID, OWNSTU="S-002", GENDER="Q"),
    )
    client.force_login(provider_user)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("collection_upload", args=[collection.reference]), {"file": io.BytesIO(content)})
    submission = Submission.objects.get()
    assert submission.status == "rejected"
    return submission


def test_screen_and_csv_name_the_record_beside_each_error(client, rejected):
    page = client.get(reverse("submission_detail", args=[rejected.pk])).content.decode()
    assert "GENDER is Q; allowed: M, F, X, 9." in page
    assert f"HUSID {SECOND_HUSID}, OWNSTU S-002" in page
    assert f"HUSID {VALID_HUSID}" not in page  # the valid first student has no error

    response = client.get(reverse("submission_schema_errors_csv", args=[rejected.pk]))
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [r["record"] for r in rows] == [f"HUSID {SECOND_HUSID}, OWNSTU S-002"] * 2
    assert {r["message"] for r in rows} == {
        "GENDER is Q; allowed: M, F, X, 9.",
        "MODE is 7; it must be a 2-digit code.",
    }
