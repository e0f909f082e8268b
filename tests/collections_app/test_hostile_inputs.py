"""A hostile catalogue: files and requests made to break the upload and the pipeline, each with
the outcome it must get.

Every entry goes through the real API upload endpoint (the pipeline runs in-process once the
upload commits) and ends one of three ways:
- refused at upload: 400 with a code and a message that says what to do; nothing stored (no
  submission, no file on disk, no records);
- rejected by the pipeline: the submission is `rejected` with a located error (its line, and
  a message that says what is wrong and what to do); no Student or Instance rows; and the next
  good upload is processed normally, so the worker survived it;
- accepted: the file is a Student record, however odd, and is stored exactly as written
  (names with markup or spreadsheet formulas are text; the pages escape them).
"""

from __future__ import annotations

import re
import socket
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from io import BytesIO
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from collections_app.models import CollectionKind, Submission
from student_record.models import Instance, Student

from .. import factories
from ..xmlbuild import VALID_HUSID, instance, student, student_record

API = "/api/v1"


@dataclass
class Context:
    secret_file: Path  # an entity must never read it
    listener_url: str  # an entity must never fetch it


def good(**fields) -> bytes:
    second = student(instance(NUMHUS="2"), HUSID="9811681234573", FNAMES="Ann", SURNAME="Jones", GENDER="F")
    return student_record(student(instance(), **fields), second)


GOOD = good()


def line_of(content: bytes, needle: bytes) -> int:
    return content[: content.index(needle)].count(b"\n") + 1


def last_line(content: bytes) -> int:
    return content.count(b"\n") + (0 if content.endswith(b"\n") else 1)


def cut_after(needle: bytes, *, last=False) -> bytes:
    at = (GOOD.rindex if last else GOOD.index)(needle) + len(needle)
    return GOOD[:at]


def with_doctype(doctype: str, *, husid: str = VALID_HUSID) -> bytes:
    return GOOD.replace(b"<StudentRecord>", f"{doctype}\n<StudentRecord>".encode(), 1).replace(
        VALID_HUSID.encode(), husid.encode(), 1
    )


def billion_laughs() -> str:
    entities = ['<!ENTITY lol0 "lol">'] + [f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)]
    return f"<!DOCTYPE StudentRecord [{''.join(entities)}]>"


def quadratic_blowup() -> tuple[str, str]:
    return f'<!DOCTYPE StudentRecord [<!ENTITY a "{"x" * 50_000}">]>', "&a;" * 20_000


def deep_nesting(levels: int = 10_000) -> bytes:
    head, tail = GOOD.split(b"    <Student>", 1)
    return head + b"<Student>" * levels + b"</Student>" * levels + b"\n    <Student>" + tail


def restarted() -> bytes:
    """lxml's feed parser begins a new document after an error it swallowed (see parse.py)."""
    broken = b'<?xml version="1.0"?><StudentRecord><Institution><RECID>23051</RECIX>'
    return broken + b" " * (32768 - len(broken)) + GOOD


def zip_bytes() -> bytes:
    buffer = BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("record.xml", GOOD)
    return buffer.getvalue()


CONTACT_DETAILS = b"""<?xml version="1.0" encoding="UTF-8"?>
<ContactDetailsRecord>
  <Provider>
    <RECID>23071</RECID>
    <UKPRN>10007794</UKPRN>
    <Graduate>
      <HUSID>9811681234562</HUSID>
      <NUMHUS>1</NUMHUS>
      <EMAIL>p.smith@example.com</EMAIL>
    </Graduate>
  </Provider>
</ContactDetailsRecord>
"""

UTF8_REQUIRED = "UTF-8 is required"
ENDS_EARLY = "it is incomplete. Upload the whole file."
NOT_WELL_FORMED = "is not well-formed XML"
FIX_AND_UPLOAD = "upload it again"
NO_DOCTYPE = "DOCTYPE is not allowed"


# -- refused at upload: nothing is stored ---------------------------------------------------


@dataclass(frozen=True)
class Refused:
    content: Callable[[Context], bytes]
    code: str
    says: tuple[str, ...]
    collection: str = "C23051"
    status: int = 400


REFUSED = {
    "empty file": Refused(lambda c: b"", "empty_file", ("The file is empty", "Choose the XML file")),
    "only whitespace": Refused(lambda c: b" \n\t\n", "not_xml", ("not XML", "Upload the XML file")),
    "CSV": Refused(lambda c: b"HUSID,FNAMES\n9811681234562,Peter\n", "not_xml", ("not XML", "Upload the XML file")),
    "ZIP archive": Refused(lambda c: zip_bytes(), "not_xml", ("not XML", "not a spreadsheet, ZIP or CSV")),
    "PDF": Refused(lambda c: b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\n", "not_xml", ("not XML",)),
    "UTF-16 with a BOM": Refused(
        lambda c: GOOD.decode().replace("UTF-8", "UTF-16").encode("utf-16"),
        "not_utf8",
        ("encoded as UTF-16", UTF8_REQUIRED, "Save or export the file as UTF-8"),
    ),
    "UTF-16 without a BOM": Refused(
        lambda c: GOOD.decode().replace("UTF-8", "UTF-16").encode("utf-16-le"),
        "not_utf8",
        ("encoded as UTF-16", UTF8_REQUIRED),
    ),
    "UTF-32": Refused(lambda c: GOOD.decode().encode("utf-32"), "not_utf8", ("UTF-32", UTF8_REQUIRED)),
    "Latin-1 declared": Refused(
        lambda c: GOOD.replace(b'encoding="UTF-8"', b'encoding="ISO-8859-1"').replace(b"Smith", b"Sm\xeft\xe9"),
        "not_utf8",
        ('declares encoding="ISO-8859-1"', UTF8_REQUIRED, "upload it again"),
    ),
    "Windows-1252 declared after a UTF-8 BOM": Refused(
        lambda c: b"\xef\xbb\xbf" + GOOD.replace(b'encoding="UTF-8"', b"encoding='windows-1252'"),
        "not_utf8",
        ('declares encoding="windows-1252"', UTF8_REQUIRED),
    ),
    "closed collection": Refused(
        lambda c: GOOD, "collection_closed", ("C22051 closed on", "Contact Liaison"), "C22051"
    ),
    "collection not open yet": Refused(
        lambda c: GOOD, "collection_not_open", ("C24051 is not open yet", "uploads open on"), "C24051"
    ),
}


@pytest.fixture
def four_collections(db):
    now = timezone.now()
    factories.CollectionFactory()  # C23051, open
    factories.CollectionFactory(
        reference="C22051", reporting_year=2022, opens=now - timedelta(days=400),
        approval_deadline=now - timedelta(days=300),
    )  # fmt: skip
    factories.CollectionFactory(
        reference="C24051", reporting_year=2024, opens=now + timedelta(days=5),
        approval_deadline=now + timedelta(days=50),
    )  # fmt: skip
    factories.CollectionFactory(reference="C23071", kind=CollectionKind.CONTACT_DETAILS, cohort="A")


@pytest.fixture
def env(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENT")
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        listener.setblocking(False)
        yield Context(secret_file=secret, listener_url=f"http://127.0.0.1:{listener.getsockname()[1]}/entity")
        with pytest.raises(BlockingIOError):  # nobody connected: no entity or DTD was fetched
            listener.accept()


@pytest.fixture
def api(provider_user) -> APIClient:
    client = APIClient()
    client.force_login(provider_user)
    return client


def upload(api, content: bytes, capture, *, collection="C23051", name="record.xml"):
    with capture(execute=True):
        return api.post(
            f"{API}/collections/{collection}/submissions/",
            {"file": SimpleUploadedFile(name, content, content_type="application/xml")},
        )


def media_files(settings) -> list[Path]:
    root = Path(settings.MEDIA_ROOT)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


@pytest.mark.parametrize("name", list(REFUSED))
def test_refused_at_upload(name, api, four_collections, env, settings, provider, django_capture_on_commit_callbacks):
    case = REFUSED[name]
    response = upload(api, case.content(env), django_capture_on_commit_callbacks, collection=case.collection)
    assert response.status_code == case.status, response.content
    body = response.json()
    assert body["code"] == case.code
    for phrase in case.says:
        assert phrase in body["detail"], body["detail"]
    assert not Submission.objects.exists()
    assert not Student.objects.exists() and not Instance.objects.exists()
    assert media_files(settings) == []


def test_refused_through_the_upload_form_too(
    client, provider_user, four_collections, django_capture_on_commit_callbacks
):
    """The web form goes through the same checks and shows the same message."""
    client.force_login(provider_user)
    utf16 = GOOD.decode().replace("UTF-8", "UTF-16").encode("utf-16")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("collection_upload", args=["C23051"]), {"file": BytesIO(utf16)}, follow=True)
    assert "The file is encoded as UTF-16: UTF-8 is required." in response.content.decode()
    assert not Submission.objects.exists()


# -- rejected by the pipeline: located, nothing stored, the worker goes on ---------------------


@dataclass(frozen=True)
class Rejected:
    content: Callable[[Context], bytes]
    line: Callable[[bytes], int]  # the line the first error names, from the file as sent
    says: tuple[str, ...]
    path: str = ""


def at(needle: bytes) -> Callable[[bytes], int]:
    return lambda content: line_of(content, needle)


def amplified() -> bytes:
    doctype, body = quadratic_blowup()
    return with_doctype(doctype).replace(b"<FNAMES>Peter", f"<FNAMES>{body}".encode(), 1)


REJECTED = {
    # Cut short: the defect this catalogue started from. Each names the file's last line.
    "cut just after a </Student>": Rejected(lambda c: cut_after(b"</Student>\n"), last_line, (ENDS_EARLY,)),
    "cut inside the last </StudentRecord>": Rejected(lambda c: GOOD[:-6], last_line, (ENDS_EARLY,)),
    "cut in a tag": Rejected(lambda c: cut_after(b"<BIRTH"), last_line, (ENDS_EARLY,)),
    "cut in a value": Rejected(lambda c: cut_after(b"<SURNAME>Smi", last=True), last_line, (ENDS_EARLY,)),
    "cut after the XML declaration": Rejected(lambda c: cut_after(b"?>\n"), last_line, (ENDS_EARLY,)),
    "cut in a multi-byte character": Rejected(
        lambda c: good(SURNAME="Nuñez")[: good(SURNAME="Nuñez").index("ñ".encode()) + 1], last_line, (ENDS_EARLY,)
    ),
    # Not XML beyond some point.
    "mismatched end tag": Rejected(
        lambda c: GOOD.replace(b"</SURNAME>", b"</SURNAM>", 1), at(b"</SURNAM>"), (NOT_WELL_FORMED, "mismatch")
    ),
    "stray ampersand": Rejected(
        lambda c: GOOD.replace(b"Smith", b"Smith & Sons", 1), at(b"& Sons"), (NOT_WELL_FORMED, FIX_AND_UPLOAD)
    ),
    "text after the root element": Rejected(
        lambda c: GOOD + b"trailing words\n", lambda c: last_line(GOOD) + 1, (NOT_WELL_FORMED, "Extra content")
    ),
    "a second root element": Rejected(
        lambda c: GOOD + GOOD.split(b"?>\n", 1)[1], lambda c: last_line(GOOD) + 1, (NOT_WELL_FORMED,)
    ),
    "control character in a name": Rejected(
        lambda c: GOOD.replace(b"Peter", b"Pe\x01ter", 1), at(b"Pe\x01ter"), (NOT_WELL_FORMED, "invalid Char")
    ),
    "control character as a reference": Rejected(
        lambda c: GOOD.replace(b"Peter", b"Pe&#1;ter", 1), at(b"Pe&#1;ter"), (NOT_WELL_FORMED,)
    ),
    "NUL byte": Rejected(lambda c: GOOD.replace(b"Smith", b"Sm\x00ith", 1), at(b"Sm\x00ith"), (NOT_WELL_FORMED,)),
    "bytes that are not UTF-8": Rejected(
        lambda c: GOOD.replace(b"Smith", b"Sm\xefth", 1), at(b"Sm\xefth"), ("not valid UTF-8", UTF8_REQUIRED)
    ),
    "an unfinished tag after the root": Rejected(
        lambda c: GOOD + b"<", lambda c: last_line(GOOD) + 1, (NOT_WELL_FORMED, "Extra content")
    ),
    "an unterminated comment after the root": Rejected(
        lambda c: GOOD + b"<!-- the end", lambda c: last_line(GOOD) + 1, (NOT_WELL_FORMED, "Comment not terminated")
    ),
    "an element after the root, then 40 KB of padding": Rejected(
        lambda c: GOOD + b"<x/>" + b" " * 40_000, lambda c: last_line(GOOD) + 1, (NOT_WELL_FORMED, "Extra content")
    ),
    "a broken start, then a whole file at lxml's next 32 KB chunk": Rejected(
        lambda c: restarted(), lambda c: 1, (NOT_WELL_FORMED, "RECIX")
    ),
    # Entities and DTDs: never expanded, fetched or read; the DOCTYPE alone rejects the file.
    "XXE reading a local file": Rejected(
        lambda c: with_doctype(
            f'<!DOCTYPE StudentRecord [<!ENTITY xxe SYSTEM "file://{c.secret_file}">]>', husid="&xxe;"
        ),
        at(b"<!DOCTYPE"),
        (NO_DOCTYPE, "remove it and upload again"),
    ),
    "XXE fetching a URL": Rejected(
        lambda c: with_doctype(f'<!DOCTYPE StudentRecord [<!ENTITY xxe SYSTEM "{c.listener_url}">]>', husid="&xxe;"),
        at(b"<!DOCTYPE"),
        (NO_DOCTYPE,),
    ),
    "external DTD": Rejected(
        lambda c: with_doctype(f'<!DOCTYPE StudentRecord SYSTEM "{c.listener_url}">'), at(b"<!DOCTYPE"), (NO_DOCTYPE,)
    ),
    "parameter entity fetching a URL": Rejected(
        lambda c: with_doctype(f'<!DOCTYPE StudentRecord [<!ENTITY % p SYSTEM "{c.listener_url}"> %p;]>'),
        at(b"<!DOCTYPE"),
        (NO_DOCTYPE,),
    ),
    "billion laughs": Rejected(
        lambda c: with_doctype(billion_laughs()).replace(b"Peter", b"&lol9;", 1), at(b"<!DOCTYPE"), (NO_DOCTYPE,)
    ),
    "quadratic blow-up": Rejected(lambda c: amplified(), at(b"<!DOCTYPE"), (NO_DOCTYPE,)),
    "harmless internal DTD subset": Rejected(
        lambda c: with_doctype("<!DOCTYPE StudentRecord [<!ELEMENT StudentRecord ANY>]>"),
        at(b"<!DOCTYPE"),
        (NO_DOCTYPE,),
    ),
    # Not a Student record.
    "wrong root element": Rejected(
        lambda c: GOOD.replace(b"StudentRecord>", b"StudentReturn>"),
        at(b"<StudentReturn>"),
        ("The root element is <StudentReturn>", "Check you chose the right file"),
        "/StudentReturn",
    ),
    "a namespace the format does not have": Rejected(
        lambda c: GOOD.replace(b"<StudentRecord>", b'<StudentRecord xmlns="http://example.org/sr">'),
        at(b"<StudentRecord"),
        ("is in the namespace http://example.org/sr", "Remove the xmlns declaration"),
        "/StudentRecord",
    ),
    "contact details file in a Student record collection": Rejected(
        lambda c: CONTACT_DETAILS,
        at(b"<ContactDetailsRecord>"),
        ("Graduate Outcomes contact details file", "Upload it to its own collection"),
        "/ContactDetailsRecord",
    ),
    "another provider's UKPRN": Rejected(
        lambda c: student_record(student(), ukprn="10000001"),
        at(b"<UKPRN>"),
        ("UKPRN 10000001 is not University of Gloucestershire's UKPRN",),
        "/StudentRecord/Institution/UKPRN",
    ),
    "another collection's RECID": Rejected(
        lambda c: student_record(student(), recid="22051"),
        at(b"<RECID>"),
        ("RECID 22051 is not this collection's", "Check you chose the right collection"),
        "/StudentRecord/Institution/RECID",
    ),
    # Valid XML, but not within the format's limits.
    "a million processing instructions after the records": Rejected(
        lambda c: GOOD.replace(b"  </Institution>", b"<?pi?>" * 1_000_000 + b"\n  </Institution>"),
        at(b"<?pi?>"),
        ("more than 1,000 processing instructions", "Remove them and upload again"),
    ),
    "elements nested 10,000 deep": Rejected(
        lambda c: deep_nesting(), at(b"<Student><Student>"), ("nested too deeply", FIX_AND_UPLOAD)
    ),
    "a 10 MB text node": Rejected(
        lambda c: GOOD.replace(b"Peter", b"P" * (10 << 20), 1), at(b"<FNAMES>"), ("far too long", FIX_AND_UPLOAD)
    ),
    "a date that does not exist": Rejected(
        lambda c: GOOD.replace(b"1974-12-06", b"2023-02-30", 1),
        at(b"2023-02-30"),
        ("BIRTHDTE is 2023-02-30; not a valid date",),
        "/StudentRecord/Institution/Student[1]/BIRTHDTE",
    ),
}


@pytest.mark.parametrize("name", list(REJECTED))
def test_rejected_by_the_pipeline(name, api, four_collections, env, provider, django_capture_on_commit_callbacks):
    case = REJECTED[name]
    content = case.content(env)
    response = upload(api, content, django_capture_on_commit_callbacks)
    assert response.status_code == 202, response.content
    pk = response.json()["id"]

    data = api.get(f"{API}/submissions/{pk}/").json()
    assert data["status"] == "rejected", (data["status"], data["error_message"])
    errors = api.get(f"{API}/submissions/{pk}/schema-errors/").json()["results"]
    assert errors and data["counts"]["schema_errors"] >= 1
    first = errors[0]
    assert first["line"] == case.line(content), first
    assert first["path"] == case.path, first
    for phrase in case.says:
        assert phrase in first["message"], first["message"]
    line_named = re.search(r"\bline ([\d,]+)", first["message"])
    if line_named:  # a message that names a line names the same one
        assert int(line_named.group(1).replace(",", "")) == first["line"]
    assert "TOP-SECRET" not in str(errors)
    assert not Student.objects.filter(submission_id=pk).exists()
    assert not Instance.objects.filter(submission_id=pk).exists()

    # The process that ran it is fine: the next good file goes through.
    response = upload(api, GOOD, django_capture_on_commit_callbacks)
    after = api.get(f"{API}/submissions/{response.json()['id']}/").json()
    assert after["status"] == "passed", after
    assert Instance.objects.filter(submission_id=after["id"]).count() == 2


def test_the_catalogue_is_big_enough():
    assert len(REFUSED) + len(REJECTED) + len(ACCEPTED) >= 30


# -- accepted: odd but valid, stored exactly as written ----------------------------------------

SCRIPT = "<script>alert('x')</script>"
FORMULA = '=HYPERLINK("http://evil.example","Click")'

ACCEPTED = {
    "UTF-8 with a BOM": b"\xef\xbb\xbf" + GOOD,
    "no XML declaration": GOOD.split(b"?>\n", 1)[1],
    "comments and processing instructions": GOOD.replace(b"Smith", b"Sm<!-- x -->i<?pi y?>th", 1)
    + b"<!-- after -->\n<?after root?>\n",
    "markup in a name": good(FNAMES=SCRIPT),
    "a formula in a name": good(SURNAME=FORMULA),
    "a 50 KB comment before the root": GOOD.replace(b"?>\n", b"?>\n<!--" + b" padding " * 5000 + b"-->\n", 1),
}


@pytest.mark.parametrize("name", list(ACCEPTED))
def test_accepted_and_stored_as_written(name, api, four_collections, env, django_capture_on_commit_callbacks):
    response = upload(api, ACCEPTED[name], django_capture_on_commit_callbacks)
    assert response.status_code == 202
    data = api.get(f"{API}/submissions/{response.json()['id']}/").json()
    assert data["status"] == "passed", data
    names = {(s.fnames, s.surname) for s in Student.objects.filter(submission_id=data["id"])}
    expected = {
        "markup in a name": (SCRIPT, "Smith"),  # text, not markup: the XML had it escaped
        "a formula in a name": ("Peter", FORMULA),  # as written; exports neutralise it, not storage
    }.get(name, ("Peter", "Smith"))
    assert expected in names


def test_markup_in_a_name_is_shown_escaped(client, provider_user, four_collections, django_capture_on_commit_callbacks):
    """A name with a script tag, on a record that fails a rule, shown on the failures page."""
    content = student_record(student(FNAMES=SCRIPT, HUSID="9811681234563"))  # wrong check digit
    client.force_login(provider_user)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("collection_upload", args=["C23051"]), {"file": BytesIO(content)})
    submission = Submission.objects.get()
    assert submission.status == "failed"
    page = client.get(reverse("submission_failures", args=[submission.pk])).content.decode()
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page
    assert SCRIPT not in page


def test_the_same_bytes_twice(api, four_collections, settings, django_capture_on_commit_callbacks):
    """Decision: a second upload of identical bytes is accepted as a new submission and processed
    again, as the code does today. It is sensible: re-sending a file is how a provider re-runs
    the checks (after the rules changed, or after an error), and nothing is duplicated: the
    first is superseded, and the second shows the same SHA-256 and, against submission N,
    0 records added, 0 removed, 0 changed, on its page and in the API."""
    first = upload(api, GOOD, django_capture_on_commit_callbacks).json()["id"]
    second = upload(api, GOOD, django_capture_on_commit_callbacks).json()["id"]
    assert first != second
    one, two = (api.get(f"{API}/submissions/{pk}/").json() for pk in (first, second))
    assert one["status"] == "superseded" and two["status"] == "passed"
    assert one["sha256"] == two["sha256"]
    assert two["changes"] == {"previous_submission": first, "added": 0, "removed": 0, "changed": 0}
    assert Instance.objects.filter(submission_id=second).count() == 2
    assert Instance.objects.filter(submission_id=first).count() == 2  # the earlier rows stay, superseded
    client = APIClient()
    client.force_login(Submission.objects.get(pk=second).uploaded_by)
    page = client.get(reverse("submission_detail", args=[second])).content.decode()
    assert f"submission {first}</a>): 0 records added, 0 removed, 0 changed." in page
