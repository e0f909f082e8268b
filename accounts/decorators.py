"""View decorators for role checks (the roles themselves are in permissions.py)."""

from functools import wraps

from django.contrib.auth.decorators import login_required

from . import permissions


def liaison_required(view):
    """Signed-in liaison staff only: anonymous users go to sign in, everyone else gets 403."""

    @login_required
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        permissions.require(permissions.is_liaison(request.user), "Only agency liaison staff can do this.")
        return view(request, *args, **kwargs)

    return wrapped
