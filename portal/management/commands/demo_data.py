"""`manage.py demo_data`: providers, users, collections and sample submissions for the demo.

Safe to run again: providers, users and collections are updated in place (the open
collections' deadlines move with today's date, so the demo stays "open"), passwords are
reset to the demo password, and sample files are only uploaded for a provider that has no
submission in that collection yet.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from accounts.models import Provider, Role, User
from collections_app.models import Cohort, Collection, CollectionKind, RuleResult, Submission, SubmissionStatus
from collections_app.pipeline.runner import submission_process
from collections_app.services import submission_create, submission_store
from contacts.models import PopulationBuild
from contacts.population import population_build
from contacts.xmlwrite import GraduateDetails, write_contact_details
from core.errors import ActionRefused
from review.models import Query
from review.services import query_raise, submission_approve, submission_approve_historical
from student_record.sample_data import SamplePopulation, write_student_record

DEMO_PASSWORD = "demo-password-2024"  # noqa: S105 - the published demo login

LONDON = ZoneInfo("Europe/London")
SAMPLE_INSTANCES = 300
# Gloucestershire's 2022/23 (approved) and 2023/24 files are two years of the same students, so
# linking finds a handful of year-on-year problems in each HIN report rather than a whole year
# of unlinked records. The 2023/24 file plants problems on about HIN_DEFECT_RATE of them.
GLOS_PREVIOUS_YEAR = SamplePopulation(reporting_year=2022, seed=2022, instances=SAMPLE_INSTANCES)
HIN_DEFECT_RATE = 0.06

PROVIDERS = [
    {
        "ukprn": "10007794",
        "name": "University of Gloucestershire",
        "instid": "0168",
        "email_domains": ["glos.ac.uk"],
        "switchboard_numbers": ["+441242714700"],
    },
    {
        "ukprn": "10007164",
        "name": "University of the West of England, Bristol",
        "instid": "0081",
        "email_domains": ["uwe.ac.uk"],
        "switchboard_numbers": ["+441179656261"],
    },
    {
        "ukprn": "10000571",
        "name": "Bath Spa University",
        "instid": "0069",
        "email_domains": ["bathspa.ac.uk"],
        "switchboard_numbers": ["+441225875875"],
    },
]


@dataclass(frozen=True)
class DemoUser:
    username: str
    first_name: str
    last_name: str
    role: str
    provider_ukprn: str | None = None
    superuser: bool = False


USERS = [
    DemoUser("pat", "Pat", "Hughes", Role.PROVIDER_USER, "10007794"),
    DemoUser("alex", "Alex", "Morgan", Role.PROVIDER_APPROVER, "10007794"),
    DemoUser("sam", "Sam", "Okafor", Role.PROVIDER_USER, "10007164"),
    DemoUser("kim", "Kim", "Rahman", Role.PROVIDER_APPROVER, "10007164"),
    DemoUser("lee", "Lee", "Campbell", Role.LIAISON),
    DemoUser("admin", "Portal", "Administrator", Role.LIAISON, superuser=True),
]


def london(day: date, hour: int = 17, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=LONDON)


def first_of_month_after(day: date) -> date:
    return (day.replace(day=1) + timedelta(days=32)).replace(day=1)


def last_day_of_month(day: date) -> date:
    return first_of_month_after(day) - timedelta(days=1)


def demo_contact_graduates(entries, *, own_domain: str) -> list[GraduateDetails]:
    """Contact details for a cohort's population: a personal email and a mobile each, with a few
    of the problems the rules catch planted in the first graduates (so every screen has something)
    and one email shared by two graduates (the shared-details page)."""
    graduates = []
    for n, entry in enumerate(entries):
        first = entry.fnames.split()[0].lower() if entry.fnames else "graduate"
        personal = f"{first}.{entry.surname.lower().replace(' ', '').replace(chr(39), '')}{n}@example.com"
        details = {"EMAIL": [personal], "UKMOB": [f"07911 {123000 + n:06d}"]}
        gradstatus = ""
        problem = n % 12
        if problem == 1:  # GO.EMAIL.12: not an address
            details["EMAIL"] = [personal.replace("@", " at ")]
        elif problem == 2:  # GO.EMAIL.12: a role mailbox
            details["EMAIL"] = ["admissions@example.com"]
        elif problem == 3:  # GO.PHONE.01: a landline given as a mobile
            details["UKMOB"] = ["0117 496 1234"]
        elif problem == 4:  # GO.PHONE.05: Ofcom's drama range
            details["UKMOB"] = ["07700 900123"]
        elif problem == 5:  # GO.EMAIL.09: only the provider's own (expiring) address
            details["EMAIL"] = [f"{first}{n}@{own_domain}"]
        elif problem == 6:  # GO.EMAIL.01: a phone and no email
            details.pop("EMAIL")
        elif problem == 7:  # GO.EMAIL.05: details for a graduate who is not to be contacted
            gradstatus = "02"
        elif problem == 8 and n > 0:  # GO.EMAIL.10: the email of the graduate before
            details["EMAIL"] = [graduates[-1].details.get("EMAIL", [personal])[0]]
        graduates.append(GraduateDetails(entry.husid, entry.numhus, gradstatus, details))
    return graduates


def demo_url() -> str:
    """Where ./scripts/demo serves: DEMO_ADDR (host:port), else 127.0.0.1:8000."""
    return f"http://{os.environ.get('DEMO_ADDR') or '127.0.0.1:8000'}/"


class Command(BaseCommand):
    help = "Create (or refresh) the demo providers, users, collections and sample submissions."

    def handle(self, *args, **options):
        try:
            validate_password(DEMO_PASSWORD)
        except Exception as exc:  # a ValidationError: the settings' validators reject it
            raise CommandError(f"The demo password does not pass the password validators: {exc}") from exc

        with transaction.atomic():
            providers = self.create_providers()
            users = self.create_users(providers)
            collections = self.create_collections()

        glos, uwe = providers["10007794"], providers["10007164"]
        # The previous year first, so the current year's upload has something to link with.
        self.previous_year_submission(collections["C22051"], glos, users["pat"])
        self.upload(
            collections["C23051"],
            glos,
            users["pat"],
            seed=2023,
            defect_rate=0.02,
            next_year_of=GLOS_PREVIOUS_YEAR,
            hin_defect_rate=HIN_DEFECT_RATE,
        )
        self.upload(collections["C23051"], uwe, users["sam"], seed=7164, defect_rate=0.0)
        self.liaison_query(collections["C23051"], glos, users["lee"])
        # Graduate Outcomes cohort A: UWE's approved 2023/24 Student record gives its population,
        # and a first contact details upload has a few failures to fix.
        self.approve_current(collections["C23051"], uwe, users["kim"])
        self.contact_details(collections["C23071"], uwe, users["sam"])
        self.print_logins(users)

    def approve_current(self, collection: Collection, provider: Provider, approver: User) -> None:
        submission = Submission.objects.filter(collection=collection, provider=provider).order_by("-pk").first()
        if submission is None or submission.status != SubmissionStatus.PASSED:
            return
        # Approving rebuilds the populations of the year's contact collections (on commit).
        submission_approve(submission=submission, user=approver)
        self.stdout.write(f"{collection.reference}: {provider.name} approved submission {submission.pk}")

    def contact_details(self, collection: Collection, provider: Provider, user: User) -> None:
        if Submission.objects.filter(collection=collection, provider=provider).exists():
            self.stdout.write(f"{collection.reference}: {provider.name} already has a submission")
            return
        build = PopulationBuild.objects.filter(collection=collection, provider=provider, is_current=True).first()
        if build is None:
            try:
                build = population_build(provider=provider, collection=collection)
            except ActionRefused as exc:
                raise CommandError(f"{collection.reference}: no population for {provider.name}: {exc.message}") from exc
        entries = list(build.entries.order_by("husid", "numhus"))
        out = io.StringIO()
        write_contact_details(
            out,
            recid=collection.recid,
            ukprn=provider.ukprn,
            graduates=demo_contact_graduates(entries, own_domain=provider.email_domains[0]),
        )
        name = f"{collection.reference}_{provider.ukprn}_contacts.xml"
        uploaded = SimpleUploadedFile(name, out.getvalue().encode(), content_type="application/xml")
        submission = submission_create(collection=collection, provider=provider, user=user, uploaded_file=uploaded)
        submission.refresh_from_db()
        self.stdout.write(
            f"{collection.reference}: {provider.name} uploaded contact details for {len(entries)} graduates "
            f"(submission {submission.pk}): {submission.stage_message or submission.get_status_display()}"
        )

    def liaison_query(self, collection: Collection, provider: Provider, liaison: User) -> None:
        """A query from liaison about the year-on-year surname changes, so the review side of the
        portal has something in it: it must be answered before approval."""
        submission = Submission.objects.filter(collection=collection, provider=provider).order_by("-pk").first()
        if submission is None or Query.objects.filter(provider=provider, collection=collection).exists():
            return
        result = RuleResult.objects.filter(submission=submission, code="HIN5c").first()
        count = result.failure_count if result else 0
        query = query_raise(
            submission=submission,
            user=liaison,
            subject=f"Check 5c: {count} surname change{'s' if count != 1 else ''} since last year",
            body="Please confirm these surname changes are genuine (for example after marriage) and confirm them "
            "on the HIN reports page, or correct the records and upload again.",
            rule_code="HIN5c",
            blocks_approval=True,
        )
        self.stdout.write(f"{collection.reference}: liaison raised query {query.pk} with {provider.name}")

    # -- reference data ---------------------------------------------------------------------

    def create_providers(self) -> dict[str, Provider]:
        providers = {}
        for spec in PROVIDERS:
            defaults = {k: v for k, v in spec.items() if k != "ukprn"}
            provider, created = Provider.objects.update_or_create(ukprn=spec["ukprn"], defaults=defaults)
            providers[provider.ukprn] = provider
            self.stdout.write(f"{'Created' if created else 'Updated'} provider {provider}")
        return providers

    def create_users(self, providers: dict[str, Provider]) -> dict[str, User]:
        users = {}
        for spec in USERS:
            provider = providers[spec.provider_ukprn] if spec.provider_ukprn else None
            domain = provider.email_domains[0] if provider else "returns.example"
            user, created = User.objects.update_or_create(
                username=spec.username,
                defaults={
                    "first_name": spec.first_name,
                    "last_name": spec.last_name,
                    "email": f"{spec.first_name.lower()}.{spec.last_name.lower()}@{domain}",
                    "role": spec.role,
                    "provider": provider,
                    "is_active": True,
                    "is_staff": spec.superuser,
                    "is_superuser": spec.superuser,
                },
            )
            user.set_password(DEMO_PASSWORD)
            user.save(update_fields=["password"])
            users[user.username] = user
            self.stdout.write(f"{'Created' if created else 'Updated'} user {user.username}")
        return users

    def create_collections(self) -> dict[str, Collection]:
        now = timezone.now()
        today = timezone.localtime(now, LONDON).date()

        # Graduate Outcomes cohort A: a three-month contact period starting at least six
        # weeks from today, details due a fortnight before it starts.
        contact_start = first_of_month_after(today + timedelta(days=42))
        contact_end = last_day_of_month(first_of_month_after(first_of_month_after(contact_start)))
        specs = [
            (
                "C22051",
                {
                    "name": "Student record 2022/23",
                    "kind": CollectionKind.STUDENT_RECORD,
                    "reporting_year": 2022,
                    "cohort": "",
                    "opens": london(date(2023, 8, 1), 9),
                    "approval_deadline": london(date(2023, 10, 31)),
                    "final_updates_deadline": london(date(2023, 12, 15)),
                    "contact_period_start": None,
                    "contact_period_end": None,
                    "previous": None,
                },
            ),
            (
                "C23051",
                {
                    "name": "Student record 2023/24",
                    "kind": CollectionKind.STUDENT_RECORD,
                    "reporting_year": 2023,
                    "cohort": "",
                    "opens": london(today - timedelta(days=60), 9),
                    "approval_deadline": london(today + timedelta(days=20)),
                    "final_updates_deadline": london(today + timedelta(days=35)),
                    "contact_period_start": None,
                    "contact_period_end": None,
                },
            ),
            (
                "C23071",
                {
                    "name": "Graduate Outcomes contact details 2023/24 cohort A",
                    "kind": CollectionKind.CONTACT_DETAILS,
                    "reporting_year": 2023,
                    "cohort": Cohort.A,
                    "opens": london(today - timedelta(days=30), 9),
                    "approval_deadline": london(contact_start - timedelta(days=14)),
                    "final_updates_deadline": london(contact_end - timedelta(days=7)),
                    "contact_period_start": contact_start,
                    "contact_period_end": contact_end,
                    "previous": None,
                },
            ),
        ]
        collections = {}
        for reference, defaults in specs:
            if reference == "C23051":
                defaults["previous"] = collections["C22051"]
            collection, created = Collection.objects.update_or_create(reference=reference, defaults=defaults)
            collections[reference] = collection
            self.stdout.write(
                f"{'Created' if created else 'Updated'} collection {collection} ({collection.phase(now)})"
            )
        return collections

    # -- sample submissions -----------------------------------------------------------------

    def sample_file(
        self,
        collection: Collection,
        provider: Provider,
        *,
        seed: int,
        defect_rate: float,
        next_year_of: SamplePopulation | None = None,
        hin_defect_rate: float = 0.0,
    ) -> bytes:
        out = io.StringIO()
        write_student_record(
            out,
            instances=SAMPLE_INSTANCES,
            recid=collection.recid,
            instid=provider.instid,
            ukprn=provider.ukprn,
            reporting_year=collection.reporting_year,
            seed=seed,
            defect_rate=defect_rate,
            next_year_of=next_year_of,
            hin_defect_rate=hin_defect_rate,
        )
        return out.getvalue().encode("utf-8")

    def previous_year_submission(self, collection: Collection, provider: Provider, user: User) -> None:
        """The closed collection refuses uploads, so its approved submission is built directly."""
        if Submission.objects.filter(collection=collection, provider=provider).exists():
            self.stdout.write(f"{collection.reference}: {provider.name} already has a submission")
            return
        population = GLOS_PREVIOUS_YEAR
        if collection.reporting_year != population.reporting_year:
            raise CommandError(f"{collection.reference} is not the {population.reporting_year} year of the sample data")
        content = self.sample_file(collection, provider, seed=population.seed, defect_rate=population.defect_rate)
        submission = submission_store(
            provider=provider,
            collection=collection,
            user=user,
            file=ContentFile(content),
            original_name=f"{collection.reference}_{provider.ukprn}.xml",
            uploaded_at=collection.approval_deadline - timedelta(days=12),
        )
        submission_process(submission_id=submission.pk, task_id="demo")
        submission.refresh_from_db()
        if submission.status not in (SubmissionStatus.PASSED, SubmissionStatus.FAILED):
            raise CommandError(
                f"{collection.reference}: the previous-year sample submission ended as {submission.status}: "
                f"{submission.error_message or submission.stage_message}"
            )
        submission_approve_historical(submission=submission, user=user)
        self.stdout.write(
            f"{collection.reference}: {provider.name} submission {submission.pk} processed "
            f"({submission.stage_message}) and marked approved"
        )

    def upload(
        self,
        collection: Collection,
        provider: Provider,
        user: User,
        *,
        seed: int,
        defect_rate: float,
        next_year_of: SamplePopulation | None = None,
        hin_defect_rate: float = 0.0,
    ):
        if Submission.objects.filter(collection=collection, provider=provider).exists():
            self.stdout.write(f"{collection.reference}: {provider.name} already has a submission")
            return
        content = self.sample_file(
            collection,
            provider,
            seed=seed,
            defect_rate=defect_rate,
            next_year_of=next_year_of,
            hin_defect_rate=hin_defect_rate,
        )
        name = f"{collection.reference}_{provider.ukprn}_{timezone.localdate():%Y%m%d}.xml"
        uploaded = SimpleUploadedFile(name, content, content_type="application/xml")
        try:
            submission = submission_create(collection=collection, provider=provider, user=user, uploaded_file=uploaded)
        except ActionRefused as exc:
            raise CommandError(f"{collection.reference}: the sample upload was refused: {exc.message}") from exc
        submission.refresh_from_db()
        if settings.CELERY_TASK_ALWAYS_EAGER:
            if submission.status == SubmissionStatus.ERROR:
                raise CommandError(
                    f"{collection.reference}: the sample submission {submission.pk} for {provider.name} "
                    f"stopped with a processing error: {submission.error_message}"
                )
            outcome = submission.stage_message or submission.get_status_display()
        else:
            outcome = "queued for the Celery worker"
        self.stdout.write(f"{collection.reference}: {provider.name} uploaded submission {submission.pk}: {outcome}")

    # -- summary ----------------------------------------------------------------------------

    def print_logins(self, users: dict[str, User]) -> None:
        rows = [("Username", "Password", "Role", "Provider")]
        for spec in USERS:
            user = users[spec.username]
            role = user.get_role_display() + (" (superuser)" if user.is_superuser else "")
            rows.append((user.username, DEMO_PASSWORD, role, user.provider.name if user.provider else "-"))
        widths = [max(len(row[i]) for row in rows) for i in range(4)]
        self.stdout.write("")
        self.stdout.write(self.style.SUCCESS("Demo logins"))
        for n, row in enumerate(rows):
            self.stdout.write("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
            if n == 0:
                self.stdout.write("  ".join("-" * width for width in widths))
        self.stdout.write("")
        self.stdout.write(f"Open {demo_url()}")
