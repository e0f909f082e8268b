"""Graduate Outcomes contact details: the cohort population, the stored contact records, and
the reasons a provider gives for a detail shared between graduates.

Record tables (go_graduate, go_detail) are written only by the pipeline, in bulk (COPY), as the
Student record's are (see student_record.models): ids derived from (submission, position), no
database-level foreign keys.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone

from accounts.models import Provider
from collections_app.models import Collection, Submission
from core.domicile import HomeEuOs  # noqa: F401  (moved to core; contacts code imports it from here)


class DetailType(models.TextChoices):
    EMAIL = "EMAIL", "Email"
    UKMOB = "UKMOB", "UK mobile"
    UKTEL = "UKTEL", "UK landline"
    INTTEL = "INTTEL", "Non-UK telephone"


PHONE_TYPES = (DetailType.UKMOB, DetailType.UKTEL, DetailType.INTTEL)


class DetailFamily(models.TextChoices):
    """What two details are compared as: emails with emails, phones with phones (E.164)."""

    EMAIL = "email", "Email"
    PHONE = "phone", "Phone"


class GradStatus(models.TextChoices):
    DECEASED = "01", "Deceased"
    NOT_CONTACTABLE = "02", "Not contactable by email or telephone"
    SERIOUS_ILLNESS = "03", "Serious illness"


class Graduate(models.Model):
    """One <Graduate> of a contact details file (duplicates of a detail already merged)."""

    id = models.BigIntegerField(primary_key=True)
    submission = models.ForeignKey(
        Submission, on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    line = models.PositiveIntegerField()
    husid = models.CharField(max_length=13)
    numhus = models.CharField(max_length=20)
    gradstatus = models.CharField(max_length=2, blank=True, choices=GradStatus.choices)
    merged = models.PositiveSmallIntegerField(default=0)  # details given twice, kept once

    class Meta:
        db_table = "go_graduate"
        indexes = [models.Index(fields=["submission", "husid", "numhus"], name="go_graduate_sub_hin")]


class ContactDetail(models.Model):
    """One email or phone number of a graduate, as given and as normalised and classified.

    `normalised` is what details are compared by: an email trimmed and lower-cased, a phone in
    E.164. `problem` is empty for a detail that is valid for its element (a UKMOB that is a UK
    mobile, ...), else the sentence saying why not; the flags feed the other rules.
    """

    id = models.BigIntegerField(primary_key=True)
    submission = models.ForeignKey(
        Submission, on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    graduate = models.ForeignKey(Graduate, on_delete=models.DO_NOTHING, related_name="details", db_constraint=False)
    line = models.PositiveIntegerField()
    husid = models.CharField(max_length=13)
    numhus = models.CharField(max_length=20)
    detail_type = models.CharField(max_length=6, choices=DetailType.choices)
    value = models.CharField(max_length=254)  # as given
    normalised = models.CharField(max_length=254)
    domain = models.CharField(max_length=254, blank=True)  # emails: the part after @, lower-cased
    number_type = models.CharField(max_length=24, blank=True)  # phones: phonenumbers' type, e.g. "mobile"
    region = models.CharField(max_length=3, blank=True)  # phones: the number's region, e.g. "GB", "FR"
    problem = models.CharField(max_length=300, blank=True)
    role_mailbox = models.BooleanField(default=False)  # info@, admissions@, noreply@, ...
    dummy = models.BooleanField(default=False)  # Ofcom drama range, one digit repeated, ...

    class Meta:
        db_table = "go_detail"
        indexes = [
            models.Index(fields=["submission", "detail_type", "normalised"], name="go_detail_sub_value"),
            # GO.EMAIL.11 looks a value up in every earlier cohort's details.
            models.Index(fields=["normalised"], name="go_detail_value"),
        ]


class PopulationBuild(models.Model):
    """One build of a provider's population for a contact details collection (a cohort), from
    its approved Student record of that year. The current build is the one rules check against."""

    provider = models.ForeignKey(Provider, on_delete=models.PROTECT, related_name="+")
    collection = models.ForeignKey(Collection, on_delete=models.PROTECT, related_name="population_builds")
    source_submission = models.ForeignKey(Submission, on_delete=models.PROTECT, related_name="+")
    built_at = models.DateTimeField(default=timezone.now)
    is_current = models.BooleanField(default=True)
    graduate_count = models.PositiveIntegerField(default=0)
    # Against the build it replaced (null for the first build).
    added = models.PositiveIntegerField(null=True, blank=True)
    removed = models.PositiveIntegerField(null=True, blank=True)
    changed = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        db_table = "go_population_build"
        ordering = ["-built_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "collection"],
                condition=models.Q(is_current=True),
                name="go_population_one_current",
            )
        ]


class PopulationEntry(models.Model):
    """One graduate of a cohort's population."""

    build = models.ForeignKey(PopulationBuild, on_delete=models.CASCADE, related_name="entries", db_index=False)
    husid = models.CharField(max_length=13)
    numhus = models.CharField(max_length=20)
    ownstu = models.CharField(max_length=20, blank=True)
    fnames = models.CharField(max_length=100)
    surname = models.CharField(max_length=100)
    qual1 = models.CharField(max_length=2)
    ptitle = models.CharField(max_length=255, blank=True)
    dateleft = models.DateField()
    domicile = models.CharField(max_length=2, blank=True)
    homeeuos = models.CharField(max_length=1, choices=HomeEuOs.choices)

    class Meta:
        db_table = "go_population_entry"
        indexes = [models.Index(fields=["build", "husid", "numhus"], name="go_population_hin")]


class SharedDetailReason(models.Model):
    """A provider's reason why one email or phone is rightly given for several graduates of a
    cohort (e.g. twins sharing a family landline). Clears GO.EMAIL.10 / GO.PHONE.06 for that
    detail in this and every later upload of the collection."""

    class Reason(models.TextChoices):
        FAMILY_LANDLINE = "family_landline", "Family members sharing a landline"
        FAMILY_EMAIL = "family_email", "Family members sharing an email address"
        SAME_PERSON = "same_person", "The same person holds more than one record (two programmes)"
        OTHER = "other", "Other (explain)"

    provider = models.ForeignKey(Provider, on_delete=models.PROTECT, related_name="+")
    collection = models.ForeignKey(Collection, on_delete=models.PROTECT, related_name="+")
    family = models.CharField(max_length=5, choices=DetailFamily.choices)
    normalised = models.CharField(max_length=254)
    reason = models.CharField(max_length=32, choices=Reason.choices)
    note = models.TextField(blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "go_shared_reason"
        ordering = ["family", "normalised"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "collection", "family", "normalised"], name="go_shared_reason_once"
            )
        ]

    # The reasons that fit each kind of detail (a family landline is no reason for a shared email).
    # Every Reason stays a valid stored value: the lists only narrow what is offered and accepted.
    REASONS_FOR = {
        DetailFamily.EMAIL: (Reason.FAMILY_EMAIL, Reason.SAME_PERSON, Reason.OTHER),
        DetailFamily.PHONE: (Reason.FAMILY_LANDLINE, Reason.SAME_PERSON, Reason.OTHER),
    }

    @classmethod
    def choices_for(cls, family: str, *, recorded: str = "") -> list[tuple[str, str]]:
        """The (value, label) reasons offered for a shared email or phone. `recorded`: the reason
        already recorded for the detail, kept in the list even if it does not fit (recorded before
        the reasons were per kind), so that it is shown as it is rather than silently replaced."""
        reasons = [*cls.REASONS_FOR.get(family, ())]
        if recorded in cls.Reason.values and recorded not in reasons:
            reasons.insert(0, cls.Reason(recorded))
        return [(reason.value, reason.label) for reason in reasons]
