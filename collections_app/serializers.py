"""API representations of collections, submissions, rule failures and schema errors."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from . import selectors
from .collection_services import COLLECTION_FIELDS, SCHEDULE_FIELDS, collection_check, collection_schedule_defaults
from .models import (
    Collection,
    RuleFailure,
    SchemaError,
    Severity,
    Stage,
    Submission,
    SubmissionStatus,
)

PHASES = [
    ("not_open", "Not open yet"),
    ("open", "Open"),
    ("final_updates", "Final updates period"),
    ("closed", "Closed"),
]


# -- collections ----------------------------------------------------------------------------


class CollectionSerializer(serializers.ModelSerializer):
    phase = serializers.ChoiceField(
        choices=PHASES,
        read_only=True,
        help_text="Where the collection is now: uploads are accepted while open or in final updates.",
    )
    closes_at = serializers.DateTimeField(
        read_only=True, help_text="Uploads are accepted until then (final-updates deadline, else approval deadline)."
    )
    # Null for a Student record collection (no cohort).
    course_end_from = serializers.SerializerMethodField(
        allow_null=True,
        help_text="Contact details: the first DATELEFT of the cohort's graduates (fixed by year and cohort).",
    )
    course_end_to = serializers.SerializerMethodField(
        allow_null=True, help_text="Contact details: the last DATELEFT of the cohort's graduates (inclusive)."
    )
    previous = serializers.SlugRelatedField(
        slug_field="reference",
        queryset=Collection.objects.all(),
        required=False,
        allow_null=True,
        help_text="Reference of the previous year's collection of the same kind, used for year-on-year checks.",
    )

    class Meta:
        model = Collection
        fields = [*COLLECTION_FIELDS, "closes_at", "phase", "course_end_from", "course_end_to"]
        # A contact details collection takes blank dates from its cohort's schedule (validate()).
        extra_kwargs = {
            "opens": {"required": False, "help_text": "Contact details: defaults from the cohort."},
            "approval_deadline": {
                "required": False,
                "help_text": "Contact details: defaults to about two weeks before the contact period.",
            },
            "final_updates_deadline": {
                "help_text": "Contact details: defaults to one week before the contact period ends."
            },
            "contact_period_start": {"help_text": "Contact details only; defaults from year and cohort."},
            "contact_period_end": {"help_text": "Contact details only; defaults from year and cohort."},
        }

    @extend_schema_field(OpenApiTypes.DATE)
    def get_course_end_from(self, collection):
        window = collection.course_end_window
        return window[0] if window else None

    @extend_schema_field(OpenApiTypes.DATE)
    def get_course_end_to(self, collection):
        window = collection.course_end_window
        return window[1] if window else None

    def _current(self, attrs, name):
        """The value a field will have once saved: the new one, else the stored one on update."""
        if name in attrs:
            return attrs[name]
        return getattr(self.instance, name, None) if self.instance is not None else None

    def validate_reference(self, value):
        if self.instance is not None and value != self.instance.reference:
            raise serializers.ValidationError("A collection's reference cannot be changed.")
        return value

    def validate(self, attrs):
        value = lambda name: self._current(attrs, name)  # noqa: E731
        errors = {}

        reference, reporting_year = value("reference"), value("reporting_year")
        if reference and reporting_year and reference[1:3] != f"{reporting_year % 100:02d}":
            errors["reference"] = (
                f"The reference's year digits ({reference[1:3]}) must match the reporting year ({reporting_year})."
            )

        if self.instance is None:
            attrs.update(
                collection_schedule_defaults(
                    kind=value("kind"),
                    reporting_year=reporting_year,
                    cohort=value("cohort") or "",
                    values={name: attrs.get(name) for name in SCHEDULE_FIELDS},
                )
            )
            for name in ("opens", "approval_deadline"):
                if not attrs.get(name):
                    errors[name] = ["This field is required."]

        # The rules across fields are the liaison forms' rules: one check serves both.
        try:
            collection_check(
                kind=value("kind"),
                reporting_year=reporting_year,
                opens=value("opens"),
                approval_deadline=value("approval_deadline"),
                final_updates_deadline=value("final_updates_deadline"),
                cohort=value("cohort") or "",
                contact_period_start=value("contact_period_start"),
                contact_period_end=value("contact_period_end"),
                previous=value("previous"),
                collection=self.instance,
            )
        except DjangoValidationError as exc:
            for field, messages in exc.message_dict.items():
                errors.setdefault(field, messages)

        if errors:
            raise serializers.ValidationError(errors)
        return attrs


# -- submissions ----------------------------------------------------------------------------


@extend_schema_field(OpenApiTypes.BINARY)
class BinaryFileField(serializers.FileField):
    """A file sent as a multipart part (documented as binary, not as the URL a FileField reads as)."""


class UploadSerializer(serializers.Serializer):
    file = BinaryFileField(help_text="The XML file exported from the student records system.")
    ukprn = serializers.CharField(
        required=False,
        help_text="The provider the file is for: the uploader's own (the default); another provider's is 404. "
        "Only provider staff upload.",
    )


class SubmissionStatusSerializer(serializers.ModelSerializer):
    """Where a submission is in the pipeline: poll `url` until `status` is no longer queued/processing."""

    url = serializers.SerializerMethodField(help_text="Absolute URL of the submission's detail endpoint.")

    class Meta:
        model = Submission
        fields = ["id", "url", "status", "stage", "progress"]

    def get_url(self, submission) -> str:
        return submission_url(self.context["request"], submission)


def submission_url(request, submission) -> str:
    return request.build_absolute_uri(reverse("api:submission-detail", kwargs={"pk": submission.pk}))


class SubmissionCountsSerializer(serializers.Serializer):
    students = serializers.IntegerField(source="student_count")
    instances = serializers.IntegerField(source="instance_count")
    errors = serializers.IntegerField(source="error_count")
    warnings = serializers.IntegerField(source="warning_count")
    schema_errors = serializers.IntegerField(source="schema_error_count")


class SubmissionChangesSerializer(serializers.Serializer):
    previous_submission = serializers.IntegerField(
        source="previous_submission_id",
        allow_null=True,
        help_text="The earlier completed upload this one was compared with (null if none).",
    )
    added = serializers.IntegerField(source="records_added", allow_null=True)
    removed = serializers.IntegerField(source="records_removed", allow_null=True)
    changed = serializers.IntegerField(source="records_changed", allow_null=True)


class RuleSummarySerializer(serializers.Serializer):
    code = serializers.CharField()
    title = serializers.CharField()
    severity = serializers.ChoiceField(choices=Severity.choices)
    count = serializers.IntegerField(source="failure_count", help_text="Records failing the rule.")


class SubmissionListSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField(help_text="Absolute URL of the submission's detail endpoint.")
    collection = serializers.SlugRelatedField(slug_field="reference", read_only=True)
    provider = serializers.SlugRelatedField(slug_field="ukprn", read_only=True, help_text="The provider's UKPRN.")
    uploaded_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    status = serializers.ChoiceField(choices=SubmissionStatus.choices, read_only=True)
    stage = serializers.ChoiceField(choices=Stage.choices, read_only=True)
    progress = serializers.IntegerField(read_only=True, min_value=0, max_value=100, help_text="Percent, 0-100.")
    counts = SubmissionCountsSerializer(source="*", read_only=True)

    class Meta:
        model = Submission
        fields = [
            "id",
            "url",
            "collection",
            "provider",
            "status",
            "stage",
            "progress",
            "stage_message",
            "uploaded_at",
            "uploaded_by",
            "original_name",
            "counts",
        ]
        read_only_fields = fields

    def get_url(self, submission) -> str:
        return submission_url(self.context["request"], submission)


class SubmissionSerializer(SubmissionListSerializer):
    changes = SubmissionChangesSerializer(source="*", read_only=True)
    rules = serializers.SerializerMethodField(help_text="One row per rule that ran, failing rules first.")

    class Meta(SubmissionListSerializer.Meta):
        fields = [
            "id",
            "url",
            "collection",
            "provider",
            "status",
            "stage",
            "progress",
            "stage_message",
            "uploaded_at",
            "uploaded_by",
            "original_name",
            "sha256",
            "size",
            "counts",
            "changes",
            "error_message",
            "records_archived_at",
            "rules",
        ]
        read_only_fields = fields

    @extend_schema_field(RuleSummarySerializer(many=True))
    def get_rules(self, submission):
        return RuleSummarySerializer(selectors.rule_summaries(submission=submission), many=True).data


# -- failures and schema errors ---------------------------------------------------------------


class FailureSerializer(serializers.ModelSerializer):
    rule = serializers.CharField(source="code", help_text="The rule's code.")
    fnames = serializers.CharField(
        allow_null=True, help_text="The student's (or, for contact details, the graduate's); null if no one."
    )
    surname = serializers.CharField(
        allow_null=True, help_text="The student's (or, for contact details, the graduate's); null if no one."
    )

    class Meta:
        model = RuleFailure
        fields = ["id", "rule", "severity", "line", "husid", "numhus", "fnames", "surname", "field", "value", "message"]
        read_only_fields = fields


class SchemaErrorSerializer(serializers.ModelSerializer):
    class Meta:
        model = SchemaError
        fields = ["line", "record", "path", "message"]
        read_only_fields = fields


def _failure_sort_choices() -> list[str]:
    return [name for key in selectors.FAILURE_SORTS for name in (key, f"-{key}")]


class FailureFilterSerializer(serializers.Serializer):
    """Query parameters of the failure list and its CSV download."""

    rule = serializers.CharField(required=False, help_text="Only failures of this rule code.")
    severity = serializers.ChoiceField(choices=Severity.choices, required=False)
    search = serializers.CharField(
        required=False, help_text="HUSID prefix, exact NUMHUS, or part of a name or of the failing value."
    )
    sort = serializers.ChoiceField(
        choices=_failure_sort_choices(),
        required=False,
        help_text="Order of the rows (default line); prefix with - for descending.",
    )
