"""Who may do what: the one place roles are enforced, for views and the API alike.

Objects a user may not see are filtered out of querysets (so a foreign id is a 404, never a
403 that would confirm it exists); actions a user's role does not allow raise PermissionDenied.

The survey platform's service account is neither provider staff nor liaison: it sees no provider's
data through these helpers, IsPortalUser (the API's default permission) refuses it, and
accounts.middleware.ServiceAccountMiddleware refuses its session on every page. Only the survey
feed (IsSurveyFeedReader) lets it in.
"""

from django.core.exceptions import PermissionDenied
from rest_framework import permissions

from .models import PROVIDER_ROLES, Provider, Role


def is_liaison(user) -> bool:
    return bool(user and user.is_authenticated and user.role == Role.LIAISON)


def is_provider_staff(user) -> bool:
    return bool(user and user.is_authenticated and user.provider_id and user.role in PROVIDER_ROLES)


def is_survey_platform(user) -> bool:
    return bool(user and user.is_authenticated and user.role == Role.SURVEY_PLATFORM)


def is_portal_user(user) -> bool:
    """Signed in as a person (provider staff or liaison), not as a service account."""
    return bool(user and user.is_authenticated and not is_survey_platform(user))


def can_read_survey_feed(user) -> bool:
    """The survey platform polls the feed; liaison may read it too, to support the platform."""
    return is_survey_platform(user) or is_liaison(user)


def visible_providers(user):
    """Providers the user may see: all for liaison, their own for provider staff."""
    if is_liaison(user):
        return Provider.objects.all()
    if is_provider_staff(user):
        return Provider.objects.filter(pk=user.provider_id)
    return Provider.objects.none()


def scope_to_provider(queryset, user, *, field="provider"):
    """Restrict a queryset of provider-owned rows to what `user` may see."""
    if is_liaison(user):
        return queryset
    if is_provider_staff(user):
        return queryset.filter(**{f"{field}_id": user.provider_id})
    return queryset.none()


def is_staff_of(user, provider) -> bool:
    """Provider staff (user or approver) of this provider."""
    return is_provider_staff(user) and user.provider_id == provider.pk


def can_upload_for(user, provider) -> bool:
    """Only the provider's own staff upload: the file is the provider's statutory return, and the agency
    (liaison) reviews it, never supplies it."""
    return is_staff_of(user, provider)


def can_retry_for(user, provider) -> bool:
    """Re-running a job that stopped with a processing error re-reads the file the provider supplied, so
    liaison may do it as well as the provider's staff."""
    return is_liaison(user) or is_staff_of(user, provider)


def can_approve_for(user, provider) -> bool:
    return is_staff_of(user, provider) and user.role == Role.PROVIDER_APPROVER


def can_manage_collections(user) -> bool:
    return is_liaison(user)


def require(allowed: bool, message: str = "Your role does not allow this.") -> None:
    if not allowed:
        raise PermissionDenied(message)


class IsPortalUser(permissions.BasePermission):
    """The API's default permission (instead of IsAuthenticated): any signed-in person, never a
    service account."""

    message = "This account may only use the survey feed."

    def has_permission(self, request, view):
        if not (request.user and request.user.is_authenticated):
            return False  # DRF answers 401 with the authenticate header
        return is_portal_user(request.user)


class IsSurveyFeedReader(permissions.BasePermission):
    message = "Only the survey platform (and agency liaison staff) can read the survey feed."

    def has_permission(self, request, view):
        return can_read_survey_feed(request.user)


class IsLiaison(permissions.BasePermission):
    message = "Only agency liaison staff can do this."

    def has_permission(self, request, view):
        return is_liaison(request.user)


class IsLiaisonOrReadOnly(permissions.BasePermission):
    message = "Only agency liaison staff can change this."

    def has_permission(self, request, view):
        if not is_portal_user(request.user):
            self.message = IsPortalUser.message  # a read refused too: say why (an instance per request)
            return False
        return request.method in permissions.SAFE_METHODS or is_liaison(request.user)
