"""Browser screens for collections and submissions."""

urlpatterns: list = []
