from rest_framework import serializers

from contacts.models import DetailType, GradStatus


class PhoneSerializer(serializers.Serializer):
    element = serializers.ChoiceField(
        choices=[DetailType.UKMOB, DetailType.UKTEL, DetailType.INTTEL], help_text="The element it was given in."
    )
    e164 = serializers.CharField(help_text="The number in E.164, e.g. +447911123456.")


class FeedGraduateSerializer(serializers.Serializer):
    ukprn = serializers.CharField()
    husid = serializers.CharField()
    numhus = serializers.CharField()
    gradstatus = serializers.ChoiceField(
        choices=[("", "None"), *GradStatus.choices], help_text="Empty, or 01 deceased, 02 not contactable, 03 ill."
    )
    emails = serializers.ListField(
        child=serializers.CharField(),
        help_text="A set: no address is first. Sorted alphabetically, trimmed and lower-cased.",
    )
    phones = PhoneSerializer(many=True, help_text="Mobiles first (UKMOB, then non-UK mobiles), then landlines.")


class GraduateChangeSerializer(serializers.Serializer):
    ukprn = serializers.CharField()
    husid = serializers.CharField()
    numhus = serializers.CharField()
    change = serializers.ChoiceField(
        choices=["added", "removed", "changed"],
        help_text="added: a graduate new to the approved data (all its details are in the `_added` lists); "
        "removed: no longer in it (its details in the `_removed` lists); changed: details or GRADSTATUS changed.",
    )
    gradstatus = serializers.CharField(allow_null=True, help_text="Now; null if removed.")
    previous_gradstatus = serializers.CharField(allow_null=True, help_text="At `since`; null if added.")
    emails_added = serializers.ListField(child=serializers.CharField())
    emails_removed = serializers.ListField(child=serializers.CharField())
    phones_added = PhoneSerializer(many=True)
    phones_removed = PhoneSerializer(many=True)


class _Page(serializers.Serializer):
    collection = serializers.CharField(help_text="The cohort's collection reference, e.g. C23071.")
    generated_at = serializers.DateTimeField(
        help_text="The time the data is as of: pass it as the next call's `since` to get what changed after it."
    )
    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True, help_text="The next page (it keeps `until` so pages agree).")
    previous = serializers.URLField(allow_null=True)


class FeedPageSerializer(_Page):
    results = FeedGraduateSerializer(many=True)


class ChangesPageSerializer(_Page):
    since = serializers.DateTimeField()
    results = GraduateChangeSerializer(many=True)
