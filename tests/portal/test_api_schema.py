"""The OpenAPI schema of REST API v1: complete, valid, and free of generator warnings."""

import pytest
import yaml
from django.core.management import call_command
from rest_framework.test import APIClient

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
    "/api/v1/collections/{reference}/tolerances/{code}/": {"get", "put", "patch"},
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
