"""Load a historical year's Student record file as a provider's approved previous-year data.

    python manage.py import_history --provider 10007794 --collection C22051 C22051_10007794.xml

The file goes through the real pipeline (schema, loading, rules, linking) in-process, like an
upload, but without the upload checks (the collection is usually closed). If its records were
stored (verdict passed or failed) the submission is marked approved, so next year's submission
links with it; a rejected file exits non-zero with its schema errors and is not approved.
"""

from pathlib import Path

from django.core.files import File
from django.core.management.base import BaseCommand, CommandError
from django.db.models import Q

from accounts.models import Provider, Role, User
from collections_app.models import Collection, CollectionKind, SchemaError, SubmissionStatus
from collections_app.pipeline.runner import submission_process
from collections_app.services import submission_store
from review.services import submission_approve_historical


class Command(BaseCommand):
    help = "Import a historical Student record file for a provider and mark it approved (previous-year data)."

    def add_arguments(self, parser):
        parser.add_argument("file", help="The Student record XML file.")
        parser.add_argument("--provider", required=True, help="The provider's UKPRN.")
        parser.add_argument("--collection", required=True, help="The collection reference, e.g. C22051.")
        parser.add_argument(
            "--user", help="Username recorded as the uploader (default: a superuser, else a liaison user)."
        )

    def handle(self, *args, **options):
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        provider = Provider.objects.filter(ukprn=options["provider"]).first()
        if provider is None:
            raise CommandError(f"No provider with UKPRN {options['provider']}.")
        collection = Collection.objects.filter(reference=options["collection"]).first()
        if collection is None:
            raise CommandError(f"No collection {options['collection']}.")
        if collection.kind != CollectionKind.STUDENT_RECORD:
            raise CommandError(f"{collection.reference} is not a Student record collection.")
        user = self.uploader(options.get("user"), provider)

        with open(path, "rb") as handle:
            submission = submission_store(
                provider=provider, collection=collection, user=user, file=File(handle), original_name=path.name
            )
        self.stdout.write(f"Processing {path.name} as submission {submission.pk} ({collection.reference}, {provider})")
        submission_process(submission_id=submission.pk, task_id=f"import-history-{submission.pk}")
        submission.refresh_from_db()

        if submission.status == SubmissionStatus.REJECTED:
            for error in SchemaError.objects.filter(submission=submission)[:50]:
                self.stderr.write(f"line {error.line or '?'}: {error.path} {error.message}")
            raise CommandError(
                f"Submission {submission.pk} was rejected: {submission.schema_error_count:,} schema errors. "
                "Nothing was stored or approved."
            )
        if submission.status not in (SubmissionStatus.PASSED, SubmissionStatus.FAILED):
            raise CommandError(
                f"Submission {submission.pk} ended as {submission.status}: "
                f"{submission.error_message or submission.stage_message}"
            )
        verdict = submission.status
        submission_approve_historical(submission=submission, user=user)
        self.stdout.write(
            self.style.SUCCESS(
                f"Submission {submission.pk} approved as {provider.name}'s {collection.reference} data: "
                f"{submission.student_count:,} students, {submission.instance_count:,} instances; "
                f"pipeline verdict {verdict} with {submission.error_count:,} errors and "
                f"{submission.warning_count:,} warnings."
            )
        )
        if submission.stage_message:
            self.stdout.write(submission.stage_message)

    def uploader(self, username: str | None, provider: Provider) -> User:
        if username:
            user = User.objects.filter(username=username).first()
            if user is None:
                raise CommandError(f"No user {username}.")
            if not (user.is_superuser or user.role == Role.LIAISON or user.provider_id == provider.pk):
                raise CommandError(f"{username} is neither agency staff nor staff of {provider.name}.")
            return user
        user = (
            User.objects.filter(Q(is_superuser=True) | Q(role=Role.LIAISON), is_active=True)
            .order_by("-is_superuser", "pk")
            .first()
        )
        if user is None:
            raise CommandError("No superuser or liaison user to record as the uploader: pass --user.")
        return user
