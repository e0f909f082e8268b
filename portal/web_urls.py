"""Browser screens of the portal app: sign-in, dashboards, account, liaison management."""

urlpatterns: list = []
