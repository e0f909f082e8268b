"""A record kind plugs into the pipeline without touching it: a throw-away kind with its own XSD,
table and one rule is registered, a file of it is uploaded through the upload service, and the
shared runner, rules engine and verdict handle it. Also: the pipeline names no record kind."""

import ast
import re
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from lxml import etree

from collections_app import kinds
from collections_app.models import RuleFailure, Severity, SubmissionStatus
from collections_app.pipeline.ids import record_id
from collections_app.pipeline.locate import locate_errors
from collections_app.pipeline.parsing import COPY_ESCAPES, ParseOutcome, ProgressReader
from collections_app.pipeline.xmlsafe import SAFE_PARSE_OPTIONS, load_schema
from collections_app.rules import registry
from collections_app.services import submission_create
from core.errors import ActionRefused

from ..factories import CollectionFactory

ROOT = Path(__file__).resolve().parent.parent.parent
KIND = "tiny_return"
TABLE = "tiny_item"
COLUMNS = ("id", "submission_id", "line", "code", "name")
XSD = """<?xml version="1.0"?>
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" elementFormDefault="qualified">
  <xs:element name="Item">
    <xs:complexType><xs:sequence>
      <xs:element name="CODE"><xs:simpleType><xs:restriction base="xs:string">
        <xs:pattern value="[A-Z]{2,4}"/></xs:restriction></xs:simpleType></xs:element>
      <xs:element name="NAME" type="xs:string"/>
    </xs:sequence></xs:complexType>
  </xs:element>
  <xs:element name="TinyReturn">
    <xs:complexType><xs:sequence>
      <xs:element ref="Item" minOccurs="0" maxOccurs="unbounded"/>
    </xs:sequence></xs:complexType>
  </xs:element>
</xs:schema>
"""


def _file(*items) -> bytes:
    body = "".join(f"<Item><CODE>{code}</CODE><NAME>{name}</NAME></Item>\n" for code, name in items)
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<TinyReturn>\n{body}</TinyReturn>\n'.encode()


@pytest.fixture
def tiny_kind(db, tmp_path):
    xsd = tmp_path / "tiny.xsd"
    xsd.write_text(XSD)
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TABLE {TABLE} (id BIGINT PRIMARY KEY, submission_id BIGINT NOT NULL, line INTEGER NOT NULL,"
            " code VARCHAR(4) NOT NULL, name VARCHAR(100) NOT NULL)"
        )

    def parse(path, *, submission_id, streams, progress, error_cap):
        schema = load_schema(xsd)
        outcome, count, out = ParseOutcome(), 0, streams[TABLE]
        with open(path, "rb") as raw:
            context = etree.iterparse(
                ProgressReader(raw, Path(path).stat().st_size, progress),
                events=("end",),
                tag="Item",
                schema=schema,
                **SAFE_PARSE_OPTIONS,
            )
            try:
                for _event, item in context:
                    count += 1
                    fields = [record_id(submission_id, count), submission_id, item.sourceline]
                    fields += [item.findtext("CODE"), item.findtext("NAME").translate(COPY_ESCAPES)]
                    out.write("\t".join(str(f) for f in fields) + "\n")
                    item.clear()
            except etree.XMLSyntaxError as exc:
                outcome.errors, outcome.total_error_count = locate_errors(
                    path,
                    schema,
                    cap=error_cap,
                    root_tag="TinyReturn",
                    record_tag="Item",
                    label="Tiny return",
                    fallback=exc.error_log,
                )
        outcome.records = count
        outcome.submission_fields = {"instance_count": count}
        return outcome

    kinds.register(kinds.RecordKind(kind=KIND, label="Tiny return", tables={TABLE: COLUMNS}, parse=parse))

    @registry.rule(code="TINY.01", title="Code XX is not allowed", severity=Severity.ERROR, record_kind=KIND)
    def no_xx(ctx):
        """A code of XX is refused."""
        return (
            f"SELECT id, CAST(NULL AS BIGINT), line, '', '', 'CODE', code, 'Code XX is not allowed: use another.' "
            f"FROM {TABLE} WHERE submission_id = %(submission)s AND code = 'XX'",
            {"submission": ctx.submission_id},
        )

    yield CollectionFactory(reference="C23999", name="Tiny return 2023/24", kind=KIND)
    registry.unregister("TINY.01")
    kinds.unregister(KIND)


def _upload(collection, user, content: bytes):
    submission = submission_create(
        collection=collection,
        provider=user.provider,
        user=user,
        uploaded_file=SimpleUploadedFile("tiny.xml", content, content_type="text/xml"),
    )
    submission.refresh_from_db()
    return submission


def test_a_new_kind_goes_through_the_shared_pipeline_to_a_verdict(
    tiny_kind, provider_user, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        failed = _upload(tiny_kind, provider_user, _file(("AB", "first"), ("XX", "second"), ("CD", "third")))
    failed.refresh_from_db()
    assert failed.status == SubmissionStatus.FAILED, failed.error_message
    assert (failed.instance_count, failed.error_count) == (3, 1)
    (failure,) = RuleFailure.objects.filter(submission=failed)
    assert (failure.code, failure.line, failure.value) == ("TINY.01", 4, "XX")
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT code, name FROM {TABLE} WHERE submission_id = %s ORDER BY id", [failed.pk])
        assert cursor.fetchall() == [("AB", "first"), ("XX", "second"), ("CD", "third")]

    with django_capture_on_commit_callbacks(execute=True):
        passed = _upload(tiny_kind, provider_user, _file(("AB", "first")))
    passed.refresh_from_db()
    failed.refresh_from_db()
    assert passed.status == SubmissionStatus.PASSED
    assert failed.status == SubmissionStatus.SUPERSEDED


def test_a_file_breaking_the_new_kinds_schema_is_rejected_with_its_line(
    tiny_kind, provider_user, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        rejected = _upload(tiny_kind, provider_user, _file(("AB", "first"), ("lower", "second")))
    rejected.refresh_from_db()
    assert rejected.status == SubmissionStatus.REJECTED
    (error,) = rejected.schema_errors.all()
    assert error.line == 4 and error.path.startswith("/TinyReturn/Item[2]/CODE")
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM {TABLE}")
        assert cursor.fetchone() == (0,)


def test_a_kind_nobody_registered_is_refused_at_upload(provider_user, db):
    collection = CollectionFactory(reference="C23998", kind="unheard_of")
    with pytest.raises(ActionRefused) as refused:
        _upload(collection, provider_user, _file(("AB", "first")))
    assert refused.value.code == "kind_not_supported"


def _code_words(path: Path) -> set[str]:
    """Identifiers and string literals of a module, leaving out docstrings (which may give the
    Student record as an example)."""
    tree = ast.parse(path.read_text())
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.FunctionDef | ast.ClassDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    words = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            words.add(node.id)
        elif isinstance(node, ast.Attribute):
            words.add(node.attr)
        elif isinstance(node, ast.alias):
            words.add(node.name)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            words.add(node.value)
    return words


def test_the_pipeline_names_no_record_kind():
    # The runner and its helpers know kinds only through collections_app.kinds.
    names = re.compile(r"sr_student|sr_instance|student_record|\bhin\b|husid|Student|Instance", re.I)
    for path in sorted((ROOT / "collections_app" / "pipeline").glob("*.py")):
        found = sorted(word for word in _code_words(path) if names.search(word))
        assert not found, f"{path.name} names a record kind: {found}"
