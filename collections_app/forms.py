"""Liaison form for creating and editing collections. Cross-field rules live in collection_services."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError

from .collection_services import COLLECTION_FIELDS, LOCKED_ONCE_USED, collection_check, collection_is_in_use
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
            "opens": "UK time.",
            "approval_deadline": "UK time. Must be after the collection opens.",
            "final_updates_deadline": "UK time. Optional; not before the approval deadline.",
            "cohort": "Contact details collections only.",
            "contact_period_start": "Contact details collections only.",
            "contact_period_end": "Contact details collections only.",
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
