from accounts import permissions


def roles(request):
    user = getattr(request, "user", None)
    return {
        "is_liaison": permissions.is_liaison(user),
        "is_provider_staff": permissions.is_provider_staff(user),
    }
