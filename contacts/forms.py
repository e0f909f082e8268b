"""Forms for contact details: a reason for a shared detail, and one graduate's details."""

from __future__ import annotations

from django import forms

from .models import GradStatus
from .services import ELEMENT_LABELS, MAX_LENGTH, MAX_PER_ELEMENT, graduate_errors
from .xmlwrite import DETAIL_ELEMENTS


def _slot(element: str, n: int) -> str:
    return f"{element.lower()}_{n}"


class GraduateForm(forms.Form):
    """GRADSTATUS and up to 3 of each contact element, values as given. `identity`: HUSID and NUMHUS
    are entered (adding a graduate with no population to choose from) rather than fixed."""

    husid = forms.CharField(label="HUSID", max_length=13, min_length=13, required=False)
    numhus = forms.CharField(label="NUMHUS", max_length=20, required=False)
    gradstatus = forms.ChoiceField(
        label="GRADSTATUS",
        required=False,
        choices=[("", "None: the graduate can be surveyed"), *[(c.value, f"{c.value} {c.label}") for c in GradStatus]],
        help_text="With 01, 02 or 03 no email or phone may be given (rule GO.EMAIL.05).",
    )

    def __init__(self, *args, identity: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.identity = identity
        if identity:
            self.fields["husid"].required = self.fields["numhus"].required = True
        else:
            del self.fields["husid"], self.fields["numhus"]
        for element in DETAIL_ELEMENTS:
            for n in range(1, MAX_PER_ELEMENT + 1):
                self.fields[_slot(element, n)] = forms.CharField(
                    label=f"{ELEMENT_LABELS[element]} {n}" if element != "EMAIL" else "Email",
                    required=False,
                    max_length=MAX_LENGTH[element],
                    widget=forms.EmailInput if element == "EMAIL" else forms.TextInput,
                )

    @staticmethod
    def initial_for(gradstatus: str, details: dict[str, list[str]]) -> dict:
        initial = {"gradstatus": gradstatus}
        for element in DETAIL_ELEMENTS:
            values = details.get(element, [])
            if element == "EMAIL":  # emails have no order: shown sorted, so none looks "first"
                values = sorted(values, key=str.lower)
            for n, value in enumerate(values[:MAX_PER_ELEMENT], start=1):
                initial[_slot(element, n)] = value
        return initial

    def element_fields(self):
        """(label, bound fields) per element, for the template."""
        return [
            (ELEMENT_LABELS[element], [self[_slot(element, n)] for n in range(1, MAX_PER_ELEMENT + 1)])
            for element in DETAIL_ELEMENTS
        ]

    def details(self) -> dict[str, list[str]]:
        data = self.cleaned_data
        return {
            element: [data[_slot(element, n)] for n in range(1, MAX_PER_ELEMENT + 1) if data.get(_slot(element, n), "")]
            for element in DETAIL_ELEMENTS
        }

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        errors = graduate_errors(
            husid=data.get("husid", "0" * 13),
            numhus=data.get("numhus", "1"),
            gradstatus=data.get("gradstatus", ""),
            details=self.details(),
        )
        for name, found in errors.items():
            target = name if name in self.fields else _slot(name, 1) if name in DETAIL_ELEMENTS else None
            for message in found:
                self.add_error(target, message)
        return data
