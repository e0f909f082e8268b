"""API representations of the HIN reports and the HIN Target List."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from collections_app.services import MAX_CONFIRM_IDS, MAX_REASON_LENGTH
from core.ids import IdField

from .selectors import REPORT_LETTERS, REPORTS, HinFinding, HinRecord, check_label

CHECKS = sorted({check_label(code) for report in REPORTS for code in report.codes})


def _field_filter() -> serializers.CharField:
    return serializers.CharField(
        required=False, allow_blank=True, help_text="Only findings about this field, e.g. POSTCODE."
    )


def _change_filter() -> serializers.CharField:
    return serializers.CharField(
        required=False,
        allow_blank=True,
        help_text='Only this exact change, as in the findings\' `value`, e.g. "F (was M)".',
    )


class HinReportFilterSerializer(serializers.Serializer):
    """Query parameters of the HIN report and its CSV download."""

    report = serializers.ChoiceField(choices=REPORT_LETTERS, required=False, help_text="A, B, C or D.")
    check = serializers.ChoiceField(choices=CHECKS, required=False, help_text="A check of the guidance, e.g. 3c or 7g.")
    confirmed = serializers.BooleanField(
        required=False,
        allow_null=True,
        default=None,
        help_text="true: confirmed warnings only; false: findings not confirmed (warnings and every error).",
    )
    husid = serializers.CharField(required=False, help_text="Only findings whose HUSID starts with this.")
    field = _field_filter()
    value = _change_filter()


class HinRecordSerializer(serializers.Serializer):
    """One record of a finding: this year's (`current`) or last year's (`previous`)."""

    husid = serializers.CharField()
    instid = serializers.CharField()
    numhus = serializers.CharField()
    line = serializers.IntegerField(help_text="Line of the record in its submission's file.")
    closed_off = serializers.BooleanField(help_text="Left, suspended or dormant: need not be returned next year.")
    compared = serializers.SerializerMethodField(
        help_text="The fields the check compares: name -> value ('' if absent)."
    )

    def __init__(self, *args, compared=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.compared_fields = compared

    @extend_schema_field({"type": "object", "additionalProperties": {"type": "string"}})
    def get_compared(self, record: HinRecord) -> dict[str, str]:
        return {name: record.values[name] for name in self.compared_fields}


class ConfirmationSerializer(serializers.Serializer):
    reason = serializers.CharField()
    confirmed_by = serializers.CharField(source="confirmed_by.display_name")
    confirmed_at = serializers.DateTimeField()
    submission = serializers.IntegerField(source="submission_id", help_text="The upload it was first confirmed on.")


class HinFindingSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="failure.pk", help_text="The failure's id (what /confirm/ takes).")
    report = serializers.CharField()
    check = serializers.CharField(help_text="The guidance's check, e.g. 3c, 6, 7g.")
    code = serializers.CharField(source="failure.code")
    category = serializers.IntegerField(allow_null=True, help_text="Category of checks 6 and 7g, else null.")
    severity = serializers.CharField(source="failure.severity")
    message = serializers.CharField(source="failure.message", help_text="What is wrong and how to fix it.")
    confirmable = serializers.BooleanField(help_text="A warning of report A or D the provider may confirm.")
    confirmation = ConfirmationSerializer(allow_null=True)
    current = serializers.SerializerMethodField()
    previous = serializers.SerializerMethodField()

    @extend_schema_field(HinRecordSerializer(allow_null=True))
    def get_current(self, finding: HinFinding):
        return self._record(finding.current, finding)

    @extend_schema_field(HinRecordSerializer(allow_null=True))
    def get_previous(self, finding: HinFinding):
        return self._record(finding.previous, finding)

    @staticmethod
    def _record(record: HinRecord | None, finding: HinFinding):
        """HinRecordSerializer's fields, written out: a serializer made per record (two per finding)
        deep-copies its fields each time, which was most of this list's time."""
        if record is None:
            return None
        return {
            "husid": record.husid,
            "instid": record.instid,
            "numhus": record.numhus,
            "line": record.line,
            "closed_off": bool(record.closed_off),
            "compared": {name: record.values[name] for name in finding.compared},
        }


class HinConfirmSerializer(serializers.Serializer):
    failures = serializers.ListField(
        child=IdField(),
        allow_empty=False,
        max_length=MAX_CONFIRM_IDS,
        help_text=f"Ids of findings (warnings of report A or D), at most {MAX_CONFIRM_IDS:,}: for more, "
        "confirm-matching.",
    )
    reason = serializers.CharField(
        help_text="Why the data is right: kept with the confirmation, shown to liaison. At most "
        f"{MAX_REASON_LENGTH:,} characters."
    )


class HinConfirmMatchingSerializer(serializers.Serializer):
    report = serializers.ChoiceField(
        choices=("A", "D"), help_text="A or D: the reports whose warnings may be confirmed."
    )
    check = serializers.ChoiceField(choices=CHECKS, required=False, help_text="Only this check, e.g. 3d.")
    confirmed = serializers.BooleanField(
        required=False,
        allow_null=True,
        default=None,
        help_text="As the list's filter: false or absent confirms the open ones; true matches confirmed warnings "
        "only, so there is nothing to confirm (400).",
    )
    husid = serializers.CharField(required=False, allow_blank=True, help_text="Only HUSIDs starting with this.")
    field = _field_filter()
    value = _change_filter()
    reason = serializers.CharField(
        help_text="One reason for them all: kept with each confirmation, shown to liaison. At most "
        f"{MAX_REASON_LENGTH:,} characters."
    )


class HinConfirmResultSerializer(serializers.Serializer):
    confirmed = serializers.IntegerField(
        help_text="Warnings confirmed by this request; those confirmed before keep their first reason and are "
        "not counted."
    )


class HinTargetRecordSerializer(serializers.Serializer):
    line = serializers.IntegerField()
    husid = serializers.CharField()
    numhus = serializers.CharField()
    fnames = serializers.CharField()
    surname = serializers.CharField()
    birthdte = serializers.DateField()
    ptitle = serializers.CharField()
    qualaim = serializers.CharField()
    comdate = serializers.DateField()
    mode = serializers.CharField()
