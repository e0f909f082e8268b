from django.contrib.auth.models import AbstractUser, UserManager
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q

ukprn_validator = RegexValidator(r"^\d{8}$", "A UKPRN is exactly 8 digits.")
instid_validator = RegexValidator(r"^\d{4}$", "An INSTID is exactly 4 digits.")


class Provider(models.Model):
    """A higher education provider that returns data to the agency."""

    name = models.CharField(max_length=200)
    ukprn = models.CharField("UKPRN", max_length=8, unique=True, validators=[ukprn_validator])
    instid = models.CharField("INSTID", max_length=4, unique=True, validators=[instid_validator])
    # Used by the contact-details rules to spot the provider's own (institutional) details.
    email_domains = models.JSONField(default=list, blank=True)
    switchboard_numbers = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return f"{self.name} ({self.ukprn})"


class Role(models.TextChoices):
    PROVIDER_USER = "provider_user", "Provider user"
    PROVIDER_APPROVER = "provider_approver", "Provider approver"
    LIAISON = "liaison", "Liaison"
    # A service account (no provider, no password): reads the survey feed with its API token, nothing else.
    SURVEY_PLATFORM = "survey_platform", "Survey platform"


PROVIDER_ROLES = (Role.PROVIDER_USER, Role.PROVIDER_APPROVER)
PROVIDERLESS_ROLES = (Role.LIAISON, Role.SURVEY_PLATFORM)


class PortalUserManager(UserManager):
    def create_superuser(self, username, email=None, password=None, **extra_fields):
        # Superusers run the agency side; a provider-less provider role would be invalid.
        extra_fields.setdefault("role", Role.LIAISON)
        return super().create_superuser(username, email, password, **extra_fields)


class User(AbstractUser):
    """A portal user: staff of one provider, agency liaison staff (no provider), or the survey platform's
    service account (no provider; its API token reads the survey feed and nothing else)."""

    role = models.CharField(max_length=32, choices=Role.choices, default=Role.PROVIDER_USER)
    provider = models.ForeignKey(Provider, null=True, blank=True, on_delete=models.PROTECT, related_name="users")

    objects = PortalUserManager()

    class Meta:
        constraints = [
            models.CheckConstraint(
                name="user_role_matches_provider",
                condition=(Q(role__in=PROVIDERLESS_ROLES, provider__isnull=True))
                | (Q(role__in=PROVIDER_ROLES, provider__isnull=False)),
            )
        ]

    @property
    def is_liaison(self) -> bool:
        return self.role == Role.LIAISON

    @property
    def is_survey_platform(self) -> bool:
        return self.role == Role.SURVEY_PLATFORM

    @property
    def is_provider_staff(self) -> bool:
        return self.role in PROVIDER_ROLES

    @property
    def display_name(self) -> str:
        return self.get_full_name() or self.username
