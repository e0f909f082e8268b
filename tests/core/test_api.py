"""core.api.exception_handler: every app's API lets a refusal propagate and gets one answer shape."""

from django.core.exceptions import PermissionDenied
from rest_framework.exceptions import NotFound

from core.api import exception_handler
from core.errors import ActionRefused


def test_a_refusal_is_a_problem_answer_with_its_code():
    response = exception_handler(ActionRefused("The collection closed.", code="collection_closed"), {})
    assert (response.status_code, response.data) == (
        400,
        {"code": "collection_closed", "detail": "The collection closed."},
    )


def test_a_refusal_for_the_role_is_403():
    response = exception_handler(ActionRefused("Your own provider only.", code="forbidden"), {})
    assert (response.status_code, response.data["code"]) == (403, "forbidden")


def test_a_service_permission_refusal_keeps_its_message():
    response = exception_handler(PermissionDenied("Only the provider's own staff can confirm a warning."), {})
    assert response.status_code == 403
    assert response.data == {"code": "forbidden", "detail": "Only the provider's own staff can confirm a warning."}


def test_everything_else_is_answered_as_drf_does():
    response = exception_handler(NotFound(), {})
    assert response.status_code == 404 and "detail" in response.data
