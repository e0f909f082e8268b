"""Landing screens: home redirect, provider dashboard, liaison home. Thin views over portal.dashboards."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils import timezone

from portal import dashboards
from portal.accounts import permissions
from portal.accounts.views import liaison_required


def home(request):
    if permissions.is_liaison(request.user):
        return redirect("liaison_home")
    if permissions.is_provider_staff(request.user):
        return redirect("dashboard")
    # Signed in but with no usable role: sending them to sign in again would loop back here.
    permissions.require(not request.user.is_authenticated, "Your account has no portal role.")
    return redirect("login")


@login_required
def dashboard(request):
    if permissions.is_liaison(request.user):
        return redirect("liaison_home")
    permissions.require(permissions.is_provider_staff(request.user), "The dashboard is for provider staff.")
    now = timezone.now()
    data = dashboards.provider_dashboard(provider=request.user.provider, user=request.user, at=now)
    return render(request, "dashboard.html", {"dashboard": data, "provider": request.user.provider, "now": now})


@liaison_required
def liaison_home(request):
    q = request.GET.get("q", "").strip()
    sort = request.GET.get("sort", "")
    providers, provider_sort = dashboards.liaison_providers(q=q, sort=sort)
    collections, collection_sort = dashboards.liaison_collections(q=q, sort=sort)
    return render(
        request,
        "liaison/home.html",
        {
            "providers": providers,
            "collections": collections,
            "q": q,
            "active_sorts": [provider_sort, collection_sort],
            "review": dashboards.liaison_review_summary(user=request.user),
        },
    )
