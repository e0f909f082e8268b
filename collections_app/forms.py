"""Liaison form for creating and editing collections. Cross-field rules live in collection_services."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError

from .collection_services import (
    COLLECTION_FIELDS,
    LOCKED_ONCE_USED,
    SCHEDULE_FIELDS,
    collection_check,
    collection_is_in_use,
    collection_schedule_defaults,
)
from .models import Collection

_DATETIME_LOCAL = "%Y-%m-%dT%H:%M"


class LocalDateTimeInput(forms.DateTimeInput):
    """A browser datetime-local input. Django reads the value in the current time zone (Europe/London)."""

    input_type = "datetime-local"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format=_DATETIME_LOCAL)


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format="%Y-%m-%d")


class CollectionForm(forms.ModelForm):
    class Meta:
        model = Collection
        fields = list(COLLECTION_FIELDS)
        labels = {
            "final_updates_deadline": "Final-updates deadline",
            "previous": "Previous year's collection",
        }
        help_texts = {
            "reference": "C, then 5 digits, e.g. C23051.",
            "opens": "UK time. Contact details: leave blank for the cohort's default.",
            "approval_deadline": "UK time. Must be after the collection opens. Contact details: leave blank for "
            "about two weeks before the contact period.",
            "final_updates_deadline": "UK time. Optional; not before the approval deadline. Contact details: leave "
            "blank for one week before the contact period ends.",
            "cohort": "Contact details collections only (required for them): A to D, which fixes the course-end "
            "window and the default dates.",
            "contact_period_start": "Contact details collections only; leave blank for the cohort's default.",
            "contact_period_end": "Contact details collections only; leave blank for the cohort's default.",
        }
        widgets = {
            "opens": LocalDateTimeInput(),
            "approval_deadline": LocalDateTimeInput(),
            "final_updates_deadline": LocalDateTimeInput(),
            "contact_period_start": DateInput(),
            "contact_period_end": DateInput(),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("opens", "approval_deadline", "final_updates_deadline"):
            self.fields[name].input_formats = [_DATETIME_LOCAL, "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"]
        # Blank is allowed here: a contact details collection takes these from its cohort (clean()).
        for name in ("opens", "approval_deadline"):
            self.fields[name].required = False
        previous = self.fields["previous"]
        previous.empty_label = "None"
        if self.instance.pk:
            previous.queryset = previous.queryset.exclude(pk=self.instance.pk)
            if collection_is_in_use(collection=self.instance):
                for name in LOCKED_ONCE_USED:
                    self.fields[name].disabled = True
                    self.fields[name].help_text = "Cannot change: providers have already uploaded to this collection."

    def clean(self):
        cleaned = super().clean()
        if not cleaned.get("kind"):
            return cleaned
        cleaned.update(
            collection_schedule_defaults(
                kind=cleaned["kind"],
                reporting_year=cleaned.get("reporting_year"),
                cohort=cleaned.get("cohort") or "",
                values={name: cleaned.get(name) for name in SCHEDULE_FIELDS},
            )
        )
        for name in ("opens", "approval_deadline"):
            if not cleaned.get(name) and name not in self.errors:
                self.add_error(name, "This field is required.")
        try:
            collection_check(
                kind=cleaned["kind"],
                reporting_year=cleaned.get("reporting_year"),
                opens=cleaned.get("opens"),
                approval_deadline=cleaned.get("approval_deadline"),
                final_updates_deadline=cleaned.get("final_updates_deadline"),
                cohort=cleaned.get("cohort") or "",
                contact_period_start=cleaned.get("contact_period_start"),
                contact_period_end=cleaned.get("contact_period_end"),
                previous=cleaned.get("previous"),
                collection=self.instance if self.instance.pk else None,
            )
        except ValidationError as error:
            self.add_error(None, error)
        return cleaned
