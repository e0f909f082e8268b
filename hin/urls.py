"""Browser screens of the hin app, under /submissions/<pk>/."""

from django.urls import path

from . import views

urlpatterns = [
    path("submissions/<int:pk>/hin/", views.hin_report, name="hin_report"),
    path("submissions/<int:pk>/hin.csv", views.hin_report_csv, name="hin_report_csv"),
    path("submissions/<int:pk>/hin-target-list/", views.hin_target_list, name="hin_target_list"),
    path("submissions/<int:pk>/hin-target-list.csv", views.hin_target_list_csv, name="hin_target_list_csv"),
]
