"""The OpenAPI schema of REST API v1: complete, valid, free of generator warnings, and true to what
the API answers (real answers validated against it; a format a list does not have is 406)."""

import pytest
import yaml
from django.core.management import call_command
from rest_framework.test import APIClient

from audit.models import AuditEvent

from ..hin import test_reports as reports
from ..survey import go_data

years, run, submission = reports.years, reports.run, reports.submission

PATHS = {
    "/api/v1/": {"get"},
    "/api/v1/providers/": {"get"},
    "/api/v1/providers/{ukprn}/": {"get"},
    "/api/v1/collections/": {"get", "post"},
    "/api/v1/collections/{reference}/": {"get", "patch"},
    "/api/v1/collections/{reference}/submissions/": {"get", "post"},
    "/api/v1/submissions/{id}/": {"get"},
    "/api/v1/submissions/{id}/retry/": {"post"},
    "/api/v1/submissions/{id}/rerun/": {"post"},
    "/api/v1/submissions/{id}/credibility/": {"get"},
    "/api/v1/submissions/{id}/credibility.csv": {"get"},
    "/api/v1/submissions/{id}/failures/": {"get"},
    "/api/v1/submissions/{id}/failures.csv": {"get"},
    "/api/v1/submissions/{id}/schema-errors/": {"get"},
    "/api/v1/submissions/{id}/schema-errors.csv": {"get"},
    # HIN linking
    "/api/v1/submissions/{id}/hin-report/": {"get"},
    "/api/v1/submissions/{id}/hin-report/confirm/": {"post"},
    "/api/v1/submissions/{id}/hin-report/confirm-matching/": {"post"},
    "/api/v1/submissions/{id}/hin-report.csv": {"get"},
    "/api/v1/submissions/{id}/hin-target-list/": {"get"},
    "/api/v1/submissions/{id}/hin-target-list.csv": {"get"},
    "/api/v1/audit/": {"get"},
    "/api/v1/submissions/{id}/approve/": {"get", "post"},
    "/api/v1/submissions/{id}/overrides/": {"get", "post"},
    "/api/v1/overrides/{id}/decide/": {"post"},
    "/api/v1/queries/": {"get", "post"},
    "/api/v1/queries/{id}/": {"get"},
    "/api/v1/queries/{id}/respond/": {"post"},
    "/api/v1/queries/{id}/accept/": {"post"},
    "/api/v1/queries/{id}/reopen/": {"post"},
    "/api/v1/collections/{reference}/providers/{ukprn}/sign-off/": {"post"},
    "/api/v1/collections/{reference}/providers/{ukprn}/return/": {"post"},
    "/api/v1/review/grid/": {"get"},
    "/api/v1/collections/{reference}/tolerances/": {"get"},
    "/api/v1/collections/{reference}/tolerances/{code}/": {"get", "put", "patch", "delete"},
    # Graduate Outcomes populations
    "/api/v1/collections/{reference}/population/": {"get"},
    "/api/v1/collections/{reference}/population.xml": {"get"},
    # Contact details and the survey feed
    "/api/v1/submissions/{id}/coverage/": {"get"},
    "/api/v1/survey/{reference}/contacts/": {"get"},
    # contact details
    "/api/v1/collections/{reference}/shared-details/": {"get", "post"},
    "/api/v1/collections/{reference}/graduates/": {"get", "post"},
    "/api/v1/collections/{reference}/graduates/{husid}/{numhus}/": {"get", "put", "delete"},
}


@pytest.fixture
def schema(tmp_path):
    """Generated as CI would: validated against the OpenAPI spec, any warning an error."""
    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    return yaml.safe_load(out.read_text())


def test_schema_generates_cleanly_with_every_endpoint(schema):
    paths = {path: set(ops) - {"parameters"} for path, ops in schema["paths"].items() if path.startswith("/api/v1/")}
    assert paths == PATHS


def test_upload_is_documented_as_multipart_answering_202(schema):
    post = schema["paths"]["/api/v1/collections/{reference}/submissions/"]["post"]
    assert list(post["requestBody"]["content"]) == ["multipart/form-data"]
    upload = schema["components"]["schemas"]["Upload"]
    assert upload["properties"]["file"]["format"] == "binary"
    assert "ukprn" in upload["properties"]
    assert {"202", "400", "404"} <= set(post["responses"])
    assert "200" not in post["responses"] and "201" not in post["responses"]


def test_csv_downloads_are_documented(schema):
    listing = schema["paths"]["/api/v1/submissions/{id}/failures/"]["get"]
    assert "/failures.csv" in listing["description"]
    assert {"rule", "severity", "search", "sort", "page", "page_size"} <= {p["name"] for p in listing["parameters"]}
    download = schema["paths"]["/api/v1/submissions/{id}/failures.csv"]["get"]
    assert list(download["responses"]["200"]["content"]) == ["text/csv"]
    assert {"rule", "severity", "search", "sort"} <= {p["name"] for p in download["parameters"]}
    schema_errors = schema["paths"]["/api/v1/submissions/{id}/schema-errors.csv"]["get"]
    assert list(schema_errors["responses"]["200"]["content"]) == ["text/csv"]


def test_submission_detail_schema(schema):
    submission = schema["components"]["schemas"]["Submission"]["properties"]
    assert {"counts", "changes", "rules", "progress", "stage_message", "sha256"} <= set(submission)
    assert submission["rules"]["items"]["$ref"].endswith("/RuleSummary")


def test_schema_and_docs_are_served(client):
    response = APIClient().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    assert set(PATHS) <= set(response.json()["paths"])
    assert client.get("/api/docs/").status_code == 200


# -- the schema says what the API answers ---------------------------------------------------------

# What the API answers as null, by component and property.
NULLABLE = {
    "Collection": ["course_end_from", "course_end_to"],  # a Student record collection has no cohort
    "HinFinding": ["confirmation", "current", "previous"],
    "Cell": ["explanation"],  # credibility tables[].cells[]
    "Coverage": ["previous"],
    "SharedDetail": ["reason"],
    "AuditEvent": ["provider", "collection"],
}


def schema_errors(spec, schema, instance) -> list[str]:
    """Where `instance` breaks `schema` (refs into `spec`), read as strict OpenAPI 3.0.3 tools read it
    (openapi-core uses this validator): `nullable` counts only beside a `type`."""
    validators = pytest.importorskip("openapi_schema_validator")
    validator = validators.OAS30ReadValidator({**schema, "components": spec["components"]})
    return [
        f"{'/'.join(map(str, error.absolute_path)) or '(top)'}: {error.message[:200]}"
        for error in validator.iter_errors(instance)
    ]


def test_what_the_api_answers_as_null_the_schema_calls_nullable(schema):
    components = schema["components"]["schemas"]
    not_nullable = [
        f"{name}.{field}"
        for name, fields in NULLABLE.items()
        for field in fields
        if schema_errors(schema, components[name]["properties"][field], None)
    ]
    assert not_nullable == []


def test_everything_the_schema_calls_nullable_accepts_null(schema):
    """drf-spectacular's {allOf: [$ref], nullable: true} does not (nullable without a type means nothing in
    OpenAPI 3.0.3): core.api.NullableNestedSchema documents a nullable nested serializer as oneOf
    [its component, null]."""
    found = []

    def walk(node, where):
        if isinstance(node, dict):
            if node.get("nullable") is True and schema_errors(schema, node, None):
                found.append(where)
            for key, value in node.items():
                walk(value, f"{where}/{key}")
        elif isinstance(node, list):
            for index, value in enumerate(node):
                walk(value, f"{where}/{index}")

    walk(schema["components"], "#/components")
    assert found == []


@pytest.fixture
def answers(provider, provider_user, liaison, submission):
    """A processed Student record submission with last year's approved (findings in every HIN report,
    credibility tables), a contact details submission with an email two graduates share, and an audit
    event about no provider."""
    contacts = go_data.contact_collection()
    contact = go_data.contact_submission(
        provider,
        contacts,
        [
            ("1111111111111", "1", "", [go_data.email("same@example.com")]),
            ("1111111111112", "1", "", [go_data.email("Same@Example.com")]),
        ],
        user=provider_user,
    )
    AuditEvent.objects.create(actor=liaison, actor_name="lee", action="user.created", summary="Created a user.")
    return {"submission": submission, "contact": contact}


def api_as(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_real_answers_match_their_documented_schema(schema, answers, provider_user, liaison):
    s, c = answers["submission"].pk, answers["contact"].pk
    reads = [
        (provider_user, "/api/v1/collections/", "/api/v1/collections/"),
        (provider_user, "/api/v1/collections/C23051/", "/api/v1/collections/{reference}/"),
        (provider_user, f"/api/v1/submissions/{s}/", "/api/v1/submissions/{id}/"),
        (provider_user, f"/api/v1/submissions/{s}/failures/", "/api/v1/submissions/{id}/failures/"),
        (provider_user, f"/api/v1/submissions/{s}/hin-report/", "/api/v1/submissions/{id}/hin-report/"),
        (provider_user, f"/api/v1/submissions/{s}/hin-target-list/", "/api/v1/submissions/{id}/hin-target-list/"),
        (provider_user, f"/api/v1/submissions/{s}/credibility/", "/api/v1/submissions/{id}/credibility/"),
        (provider_user, f"/api/v1/submissions/{c}/coverage/", "/api/v1/submissions/{id}/coverage/"),
        (
            provider_user,
            "/api/v1/collections/C23071/shared-details/",
            "/api/v1/collections/{reference}/shared-details/",
        ),
        (provider_user, "/api/v1/collections/C23051/tolerances/", "/api/v1/collections/{reference}/tolerances/"),
        (liaison, "/api/v1/review/grid/", "/api/v1/review/grid/"),
        (liaison, "/api/v1/audit/", "/api/v1/audit/"),
    ]
    bodies, broken = {}, {}
    for user, url, path in reads:
        response = api_as(user).get(url)
        assert response.status_code == 200, (url, response.content[:300])
        documented = schema["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
        bodies[path] = body = response.json()
        if problems := schema_errors(schema, documented, body):
            broken[url] = problems[:5]
    assert broken == {}
    # The nulls of NULLABLE were really there to check.
    assert any(row["course_end_from"] is None for row in bodies["/api/v1/collections/"]["results"])
    findings = bodies["/api/v1/submissions/{id}/hin-report/"]["results"]
    assert any(row["confirmation"] is None for row in findings) and any(row["current"] is None for row in findings)
    cells = [cell for table in bodies["/api/v1/submissions/{id}/credibility/"]["tables"] for cell in table["cells"]]
    assert cells and all(cell["explanation"] is None for cell in cells)
    assert bodies["/api/v1/submissions/{id}/coverage/"]["previous"] is None
    assert [row["reason"] for row in bodies["/api/v1/collections/{reference}/shared-details/"]["results"]] == [None]
    assert any(row["provider"] is None for row in bodies["/api/v1/audit/"]["results"])


def test_tolerances_are_one_unpaged_list_as_documented(schema, years, provider_user):
    operation = schema["paths"]["/api/v1/collections/{reference}/tolerances/"]["get"]
    assert "page" not in {parameter["name"] for parameter in operation.get("parameters", [])}
    documented = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert documented.get("type") == "array"
    body = api_as(provider_user).get("/api/v1/collections/C23051/tolerances/").json()
    assert isinstance(body, list) and body  # every warning rule, in one answer
    assert schema_errors(schema, documented, body) == []


# -- asking for a format a list does not have -----------------------------------------------------


def json_only(s, c):
    """JSON-only reads, with the CSV download of each that has one."""
    return [
        (f"/api/v1/submissions/{s}/failures/", f"/api/v1/submissions/{s}/failures.csv"),
        (f"/api/v1/submissions/{s}/schema-errors/", f"/api/v1/submissions/{s}/schema-errors.csv"),
        (f"/api/v1/submissions/{s}/hin-report/", f"/api/v1/submissions/{s}/hin-report.csv"),
        (f"/api/v1/submissions/{s}/hin-target-list/", f"/api/v1/submissions/{s}/hin-target-list.csv"),
        (f"/api/v1/submissions/{s}/credibility/", f"/api/v1/submissions/{s}/credibility.csv"),
        (f"/api/v1/submissions/{c}/coverage/", None),
        ("/api/v1/review/grid/", None),
        ("/api/v1/audit/", None),
        ("/api/v1/collections/C23051/tolerances/", None),
    ]


def test_csv_asked_of_a_json_list_is_406_naming_its_csv(answers, provider_user):
    """DRF answered ?format=csv with 404 "Not found." for a list that exists."""
    api = api_as(provider_user)
    for url, csv_url in json_only(answers["submission"].pk, answers["contact"].pk):
        assert api.get(url).status_code == 200, url
        for response in (api.get(url, {"format": "csv"}), api.get(url, HTTP_ACCEPT="text/csv")):
            assert response.status_code == 406, (url, response.content)
            detail = response.json()["detail"]
            if csv_url:
                assert detail == f"This answer is JSON; its CSV is {csv_url}"
                assert api.get(csv_url).status_code == 200
            else:
                assert ".csv" not in detail, detail
    # Any other unknown format is 406 too; the formats a list has still work.
    url = f"/api/v1/submissions/{answers['submission'].pk}/failures/"
    response = api.get(url, {"format": "xml"})
    assert response.status_code == 406 and response.json()["detail"].startswith("No 'xml' format here")
    assert api.get(url, {"format": "json"}).status_code == 200
    assert api.get(url, {"format": "api"}).status_code == 200  # the browsable API
    # A download stays a file whatever it is asked for; a missing submission is still 404.
    download = f"/api/v1/submissions/{answers['submission'].pk}/failures.csv"
    for query in ({"format": "csv"}, {"format": "xml"}):
        assert api.get(download, query)["Content-Type"].startswith("text/csv")
    assert api.get("/api/v1/submissions/999999/failures/").status_code == 404
