"""API representations for review and approval."""

from rest_framework import serializers

from core.ids import IdField

from .models import Approval, OverrideRequest, Query, QueryMessage, SignOff
from .selectors import STATES
from .services import MAX_TOLERANCE_COUNT


def _name(user) -> str:
    return (user.get_full_name() or user.username) if user else ""


class ApprovalSerializer(serializers.ModelSerializer):
    submission = serializers.IntegerField(source="submission_id", read_only=True)
    approved_by = serializers.SerializerMethodField()

    class Meta:
        model = Approval
        fields = ["id", "submission", "approved_by", "approved_at", "sha256", "late", "superseded_at"]

    def get_approved_by(self, obj) -> str:
        return _name(obj.approved_by)


class OverrideSerializer(serializers.ModelSerializer):
    submission = serializers.IntegerField(source="submission_id", read_only=True)
    status = serializers.CharField(read_only=True, help_text="pending, approved or refused.")
    requested_by = serializers.SerializerMethodField()
    decided_by = serializers.SerializerMethodField()

    class Meta:
        model = OverrideRequest
        fields = [
            "id", "submission", "code", "percent", "justification", "status", "requested_by", "requested_at",
            "decided_by", "decided_at", "decision_message",
        ]  # fmt: skip
        read_only_fields = fields

    def get_requested_by(self, obj) -> str:
        return _name(obj.requested_by)

    def get_decided_by(self, obj) -> str:
        return _name(obj.decided_by)


class OverrideCreateSerializer(serializers.Serializer):
    code = serializers.CharField(max_length=32, help_text="The warning rule's code.")
    percent = serializers.DecimalField(
        max_digits=5, decimal_places=2, help_text="Percentage of records affected to be accepted (0-100]."
    )
    justification = serializers.CharField()


class DecisionSerializer(serializers.Serializer):
    approve = serializers.BooleanField()
    message = serializers.CharField(required=False, allow_blank=True, default="", help_text="Required to refuse.")


class QueryMessageSerializer(serializers.ModelSerializer):
    author = serializers.SerializerMethodField()
    kind = serializers.CharField(read_only=True, help_text="raised, response, accepted or reopened.")

    class Meta:
        model = QueryMessage
        fields = ["kind", "author", "body", "created_at"]

    def get_author(self, obj) -> str:
        return _name(obj.author)


class QuerySerializer(serializers.ModelSerializer):
    submission = serializers.IntegerField(source="submission_id", read_only=True)
    ukprn = serializers.CharField(source="provider.ukprn", read_only=True)
    collection = serializers.CharField(source="collection.reference", read_only=True)
    status = serializers.CharField(
        read_only=True, help_text="open (the provider's turn), answered (liaison's turn) or closed."
    )
    kind = serializers.CharField(read_only=True, help_text="query, or return (returned instead of signed off).")
    messages = QueryMessageSerializer(many=True, read_only=True)

    class Meta:
        model = Query
        fields = [
            "id", "submission", "ukprn", "collection", "kind", "subject", "rule_code", "husid", "numhus",
            "blocks_approval", "status", "raised_at", "updated_at", "closed_at", "messages",
        ]  # fmt: skip
        read_only_fields = fields


class QueryCreateSerializer(serializers.Serializer):
    submission = IdField(help_text="The submission the query is about.")
    subject = serializers.CharField(max_length=200)
    body = serializers.CharField()
    rule_code = serializers.CharField(max_length=32, required=False, allow_blank=True, default="")
    # Checked by the service, as the web form's are (format, and a record of the submission): one set of refusals.
    husid = serializers.CharField(
        required=False, allow_blank=True, default="", help_text="A record's HUSID (13 digits), or empty."
    )
    numhus = serializers.CharField(
        required=False, allow_blank=True, default="", help_text="The record's NUMHUS, with its HUSID, or empty."
    )
    blocks_approval = serializers.BooleanField(required=False, default=False)


class MessageSerializer(serializers.Serializer):
    body = serializers.CharField(required=False, allow_blank=True, default="")


class ReturnSerializer(serializers.Serializer):
    subject = serializers.CharField(max_length=200)
    body = serializers.CharField()


class SignOffSerializer(serializers.ModelSerializer):
    signed_off_by = serializers.SerializerMethodField()
    submission = serializers.IntegerField(source="approval.submission_id", read_only=True)

    class Meta:
        model = SignOff
        fields = ["id", "submission", "signed_off_by", "signed_off_at", "reopened_at"]

    def get_signed_off_by(self, obj) -> str:
        return _name(obj.signed_off_by)


class GridCellSerializer(serializers.Serializer):
    collection = serializers.CharField(source="collection.reference")
    state = serializers.ChoiceField(choices=list(STATES.items()), source="status.state")
    label = serializers.CharField(source="status.label")
    latest_submission = serializers.IntegerField(source="status.latest_id", allow_null=True)
    latest_status = serializers.CharField(source="status.latest_status")
    approved_submission = serializers.IntegerField(
        source="status.approval.submission_id", allow_null=True, default=None
    )
    approved_at = serializers.DateTimeField(source="status.approval.approved_at", allow_null=True, default=None)
    late = serializers.BooleanField(source="status.late")
    signed_off_at = serializers.DateTimeField(source="status.sign_off.signed_off_at", allow_null=True, default=None)
    open_queries = serializers.IntegerField(source="status.open_queries")


class GridRowSerializer(serializers.Serializer):
    ukprn = serializers.CharField(source="provider.ukprn")
    name = serializers.CharField(source="provider.name")
    cells = GridCellSerializer(many=True)


class GridSerializer(serializers.Serializer):
    collections = serializers.SerializerMethodField()
    rows = GridRowSerializer(many=True)
    counts = serializers.DictField(child=serializers.IntegerField(), help_text="Cells in each state.")

    def get_collections(self, obj) -> list[str]:
        return [c.reference for c in obj.collections]


class RefusalSerializer(serializers.Serializer):
    code = serializers.CharField()
    detail = serializers.CharField(help_text="What stops approval and what to do about it.")


class WarningToleranceSerializer(serializers.Serializer):
    code = serializers.CharField()
    title = serializers.CharField()
    failures = serializers.IntegerField()
    confirmed = serializers.IntegerField(help_text="Confirmed as data quality improvements.")
    outstanding = serializers.IntegerField()
    records = serializers.IntegerField()
    percent = serializers.DecimalField(
        max_digits=6,
        decimal_places=2,
        help_text="Outstanding, % of records, rounded to 2 places (1 in 300 is 0.33, 2 in 300 is 0.67). Whether "
        "it is within the tolerance is decided on the exact share, not on this figure.",
    )
    percent_text = serializers.CharField(help_text='The share in words, e.g. "0.33%" or "under 0.01%".')
    tolerance = serializers.CharField(
        help_text='The tolerance in words: e.g. "up to 2% of records", or "0% – any warning blocks approval".'
    )
    tolerance_source = serializers.ChoiceField(
        choices=["collection", "default", "none"],
        help_text="collection: set by liaison for this collection; default: the rule's own; none: zero.",
    )
    within_tolerance = serializers.BooleanField()
    covered = serializers.BooleanField(help_text="By an approved override at least this percentage.")
    blocks_approval = serializers.BooleanField()


class ApprovalCheckSerializer(serializers.Serializer):
    can_approve = serializers.BooleanField(help_text="Nothing stops approval now (the caller's role aside).")
    refusals = RefusalSerializer(many=True)
    warnings = WarningToleranceSerializer(many=True, help_text="Every warning rule with outstanding failures.")


class RuleToleranceSerializer(serializers.Serializer):
    code = serializers.CharField()
    title = serializers.CharField()
    applies_to = serializers.CharField(help_text="What the percentage is of: student or instance records.")
    percent = serializers.DecimalField(
        source="tolerance.percent", max_digits=5, decimal_places=2, allow_null=True, help_text="% of records."
    )
    count = serializers.IntegerField(source="tolerance.count", allow_null=True, help_text="Number of records.")
    source = serializers.CharField(
        source="tolerance.source",
        help_text="collection: set by liaison for this collection; default: the rule's own; none: zero.",
    )
    text = serializers.SerializerMethodField(
        help_text='e.g. "up to 2% of records", "0% – any warning blocks approval".'
    )
    default = serializers.SerializerMethodField(help_text="The rule's own tolerance, in words.")
    updated_by = serializers.CharField(source="tolerance.updated_by", allow_null=True, default=None)
    updated_at = serializers.DateTimeField(source="tolerance.updated_at", allow_null=True, default=None)

    def get_text(self, obj) -> str:
        return str(obj.tolerance)

    def get_default(self, obj) -> str:
        return str(obj.default)


class RuleToleranceUpdateSerializer(serializers.Serializer):
    percent = serializers.DecimalField(
        max_digits=5, decimal_places=2, required=False, allow_null=True, help_text="0-100; 0: any warning blocks."
    )
    count = serializers.IntegerField(
        required=False, allow_null=True, min_value=0, max_value=MAX_TOLERANCE_COUNT, help_text="Number of records."
    )
