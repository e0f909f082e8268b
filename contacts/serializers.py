"""API shapes for contact details: shared details with reasons, and one graduate as stored."""

from __future__ import annotations

from rest_framework import serializers

from .models import DetailFamily, GradStatus, SharedDetailReason
from .services import MAX_LENGTH, MAX_PER_ELEMENT


class SharedGraduateSerializer(serializers.Serializer):
    husid = serializers.CharField()
    numhus = serializers.CharField()
    element = serializers.CharField(help_text="EMAIL, UKMOB, UKTEL or INTTEL.")
    value = serializers.CharField(help_text="As given in the file.")


class SharedReasonSerializer(serializers.ModelSerializer):
    reason_label = serializers.CharField(source="get_reason_display", read_only=True)
    recorded_by = serializers.CharField(source="recorded_by.display_name", read_only=True)

    class Meta:
        model = SharedDetailReason
        fields = ["reason", "reason_label", "note", "recorded_by", "recorded_at"]


class SharedDetailSerializer(serializers.Serializer):
    family = serializers.ChoiceField(choices=DetailFamily.choices)
    normalised = serializers.CharField(help_text="Emails trimmed and lower-cased; phones in E.164.")
    graduate_count = serializers.IntegerField()
    graduates = SharedGraduateSerializer(many=True)
    reason = SharedReasonSerializer(allow_null=True, help_text="Null while no reason is recorded.")


class SharedFilterSerializer(serializers.Serializer):
    family = serializers.ChoiceField(choices=DetailFamily.choices, required=False, help_text="Only emails or phones.")
    reason = serializers.ChoiceField(
        choices=[("with", "with"), ("without", "without")], required=False, help_text="Only with (or without) a reason."
    )
    ukprn = serializers.CharField(required=False, help_text="The provider (liaison; required for them).")


class SharedReasonWriteSerializer(serializers.Serializer):
    family = serializers.ChoiceField(choices=DetailFamily.choices)
    normalised = serializers.CharField(max_length=254, help_text="The shared detail, as listed (normalised).")
    reason = serializers.ChoiceField(choices=SharedDetailReason.Reason.choices, required=False)
    note = serializers.CharField(required=False, allow_blank=True, default="", help_text='Required for "other".')
    remove = serializers.BooleanField(
        required=False, default=False, help_text="True: remove the detail's reason instead of recording one."
    )

    def validate(self, attrs):
        if not attrs["remove"] and not attrs.get("reason"):
            raise serializers.ValidationError({"reason": "Choose a reason (or send remove: true)."})
        return attrs


def _values(element: str):
    return serializers.ListField(
        child=serializers.CharField(max_length=MAX_LENGTH[element]),
        max_length=MAX_PER_ELEMENT,
        required=False,
        default=list,
    )


class GraduateDetailsSerializer(serializers.Serializer):
    """Values as given, grouped by element. Emails have no order: they are listed sorted, and none is first."""

    EMAIL = _values("EMAIL")
    UKMOB = _values("UKMOB")
    UKTEL = _values("UKTEL")
    INTTEL = _values("INTTEL")


class GraduateSerializer(serializers.Serializer):
    husid = serializers.CharField()
    numhus = serializers.CharField()
    gradstatus = serializers.CharField(allow_blank=True, help_text="01, 02, 03 or empty.")
    line = serializers.IntegerField(help_text="Where the Graduate starts in the submission's file.")
    submission = serializers.IntegerField(help_text="The current submission it is stored in.")
    details = GraduateDetailsSerializer()


class GraduateListSerializer(serializers.Serializer):
    husid = serializers.CharField()
    numhus = serializers.CharField()
    gradstatus = serializers.CharField(allow_blank=True)
    line = serializers.IntegerField()
    detail_count = serializers.IntegerField()


class GraduateWriteSerializer(serializers.Serializer):
    """The whole graduate (PUT replaces it): GRADSTATUS and up to 3 values of each element."""

    gradstatus = serializers.ChoiceField(choices=[("", "none"), *GradStatus.choices], required=False, default="")
    details = GraduateDetailsSerializer()


class GraduateCreateSerializer(GraduateWriteSerializer):
    husid = serializers.RegexField(r"^\d{13}$", help_text="13 digits.")
    numhus = serializers.RegexField(r"^\S{1,20}$", help_text="1 to 20 characters, no spaces.")
