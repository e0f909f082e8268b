"""API representations of accounts objects."""

from rest_framework import serializers

from .models import Provider


class ProviderSerializer(serializers.ModelSerializer):
    email_domains = serializers.ListField(
        child=serializers.CharField(),
        read_only=True,
        help_text="The provider's own email domains (institutional addresses, not graduates').",
    )
    switchboard_numbers = serializers.ListField(
        child=serializers.CharField(),
        read_only=True,
        help_text="The provider's own switchboard telephone numbers.",
    )

    class Meta:
        model = Provider
        fields = ["name", "ukprn", "instid", "email_domains", "switchboard_numbers"]
        read_only_fields = fields
