from rest_framework import serializers


class ExplanationSerializer(serializers.Serializer):
    text = serializers.CharField()
    explained_by = serializers.CharField(source="explained_by.display_name")
    explained_at = serializers.DateTimeField()


class CellSerializer(serializers.Serializer):
    category = serializers.CharField()
    label = serializers.CharField()
    count = serializers.IntegerField()
    previous_count = serializers.IntegerField(allow_null=True, help_text="Null: no approved previous-year data.")
    change = serializers.IntegerField(allow_null=True)
    change_percent = serializers.DecimalField(
        max_digits=12, decimal_places=1, allow_null=True, help_text="Null when last year had none (or no data)."
    )
    approved_count = serializers.IntegerField(allow_null=True, help_text="Null: nothing approved this year.")
    approved_change = serializers.IntegerField(allow_null=True)
    approved_change_percent = serializers.DecimalField(max_digits=12, decimal_places=1, allow_null=True)
    flagged = serializers.BooleanField()
    explanation = ExplanationSerializer(allow_null=True)


class TableSerializer(serializers.Serializer):
    key = serializers.CharField()
    title = serializers.CharField()
    flagged = serializers.IntegerField()
    cells = CellSerializer(many=True)


class ThresholdSerializer(serializers.Serializer):
    percent = serializers.DecimalField(max_digits=5, decimal_places=2)
    min_records = serializers.IntegerField()
    is_default = serializers.BooleanField()


class CredibilityReportSerializer(serializers.Serializer):
    submission = serializers.IntegerField(source="submission.pk")
    previous_year_submission = serializers.IntegerField(source="previous.pk", allow_null=True, default=None)
    approved_submission = serializers.IntegerField(source="approved.pk", allow_null=True, default=None)
    computed = serializers.BooleanField()
    flagged = serializers.IntegerField()
    explained = serializers.IntegerField()
    threshold = ThresholdSerializer()
    tables = TableSerializer(many=True)
