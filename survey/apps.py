from django.apps import AppConfig


class SurveyConfig(AppConfig):
    """The survey platform's feed: each cohort's currently approved contact details, and what changed
    since a given time after re-approvals. Read only; the survey platform's service account polls it."""

    name = "survey"
    verbose_name = "Survey platform feed"
