from datetime import date

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone

from accounts.models import Provider

from .cohorts import course_end_window


class CollectionKind(models.TextChoices):
    STUDENT_RECORD = "student_record", "Student record"
    CONTACT_DETAILS = "contact_details", "Graduate Outcomes contact details"


class Cohort(models.TextChoices):
    A = "A", "Cohort A"
    B = "B", "Cohort B"
    C = "C", "Cohort C"
    D = "D", "Cohort D"


class Collection(models.Model):
    """One data collection, e.g. C23051 (Student record 2023/24), with its deadlines."""

    reference = models.CharField(max_length=6, unique=True, validators=[RegexValidator(r"^C\d{5}$", "Like C23051.")])
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=32, choices=CollectionKind.choices)
    reporting_year = models.PositiveIntegerField(help_text="First year of the reporting year: 2023 for 2023/24.")
    cohort = models.CharField(max_length=1, choices=Cohort.choices, blank=True)
    opens = models.DateTimeField()
    approval_deadline = models.DateTimeField()
    final_updates_deadline = models.DateTimeField(null=True, blank=True)
    contact_period_start = models.DateField(null=True, blank=True)
    contact_period_end = models.DateField(null=True, blank=True)
    previous = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="next_collections",
        help_text="The previous year's collection, used for year-on-year checks.",
    )

    class Meta:
        db_table = "collections_app_collection"  # named in hand-written SQL (hin.rules)
        ordering = ["-reporting_year", "reference"]

    def __str__(self):
        return f"{self.reference} {self.name}"

    @property
    def recid(self) -> str:
        return self.reference[1:]

    @property
    def reporting_year_label(self) -> str:
        return f"{self.reporting_year}/{str(self.reporting_year + 1)[-2:]}"

    @property
    def reporting_period_start(self) -> date:
        return date(self.reporting_year, 8, 1)

    @property
    def reporting_period_end(self) -> date:
        return date(self.reporting_year + 1, 7, 31)

    @property
    def course_end_window(self) -> tuple[date, date] | None:
        """A contact details collection's DATELEFT window (inclusive), fixed by year and cohort."""
        if self.kind != CollectionKind.CONTACT_DETAILS or not self.cohort:
            return None
        return course_end_window(self.reporting_year, self.cohort)

    @property
    def closes_at(self):
        """Uploads are accepted until the final-updates deadline, else the approval deadline."""
        if self.final_updates_deadline and self.final_updates_deadline > self.approval_deadline:
            return self.final_updates_deadline
        return self.approval_deadline

    def is_open(self, at=None) -> bool:
        at = at or timezone.now()
        return self.opens <= at < self.closes_at

    def phase(self, at=None) -> str:
        at = at or timezone.now()
        if at < self.opens:
            return "not_open"
        if at < self.approval_deadline:
            return "open"
        if at < self.closes_at:
            return "final_updates"
        return "closed"


class SubmissionStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    PROCESSING = "processing", "Processing"
    REJECTED = "rejected", "Rejected"
    FAILED = "failed", "Failed"
    PASSED = "passed", "Passed"
    APPROVED = "approved", "Approved"
    SUPERSEDED = "superseded", "Superseded"
    ERROR = "error", "Processing error"


class Stage(models.TextChoices):
    QUEUED = "queued", "Queued"
    SCHEMA = "schema", "Schema check"
    LOADING = "loading", "Loading records"
    RULES = "rules", "Quality rules"
    LINKING = "linking", "Year-on-year linking"
    CREDIBILITY = "credibility", "Credibility tables"
    DONE = "done", "Done"


IN_FLIGHT = (SubmissionStatus.QUEUED, SubmissionStatus.PROCESSING)
COMPLETED = (SubmissionStatus.FAILED, SubmissionStatus.PASSED)
# An upload in one of these may be its provider's current one for the collection (the newest such
# is); a superseded, rejected or errored upload never is.
CURRENT_STATUSES = (*COMPLETED, SubmissionStatus.APPROVED)


def approved_data() -> models.Q:
    """Submissions whose records are a provider's approved data: approved, or approved and being
    re-run right now (a re-run keeps the records; meanwhile its status says queued/processing, and
    a next year's linking or a population built in that window must still find them)."""
    return models.Q(status=SubmissionStatus.APPROVED) | models.Q(rerun_from_status=SubmissionStatus.APPROVED)


def submission_upload_path(instance, filename):
    return f"submissions/{instance.collection.reference}/{instance.provider.ukprn}/{filename}"


class Submission(models.Model):
    """One uploaded file for a provider and collection, and the pipeline's verdict on it."""

    provider = models.ForeignKey(Provider, on_delete=models.PROTECT, related_name="submissions")
    collection = models.ForeignKey(Collection, on_delete=models.PROTECT, related_name="submissions")
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="submissions")
    uploaded_at = models.DateTimeField(default=timezone.now)
    file = models.FileField(upload_to=submission_upload_path, max_length=300)
    original_name = models.CharField(max_length=255)
    sha256 = models.CharField(max_length=64)
    size = models.BigIntegerField()

    status = models.CharField(max_length=16, choices=SubmissionStatus.choices, default=SubmissionStatus.QUEUED)
    stage = models.CharField(max_length=16, choices=Stage.choices, default=Stage.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0)
    stage_message = models.CharField(max_length=300, blank=True)
    task_id = models.CharField(max_length=64, blank=True)
    # When it last became queued (upload, retry, or re-queued after its worker was lost), and
    # when its task last reached the broker (null: not yet, e.g. during a broker outage). The
    # sweep (services.submissions_sweep) sends the task again from these.
    queued_at = models.DateTimeField(default=timezone.now)
    task_sent_at = models.DateTimeField(null=True, blank=True)
    # Written by the running job every PIPELINE_HEARTBEAT_INTERVAL seconds (pipeline.ownership.Heartbeat).
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    # Runs started since it was queued by an upload or a retry; capped by PIPELINE_MAX_ATTEMPTS.
    attempts = models.PositiveSmallIntegerField(default=0)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    error_message = models.TextField(blank=True)
    stage_timings = models.JSONField(default=dict, blank=True)
    # A re-run (services.submission_rerun): while queued or processing, the status it had before,
    # which tells the runner to keep the stored records and run only the rules and later stages;
    # empty for an upload.
    rerun_from_status = models.CharField(max_length=16, blank=True)
    rerun_count = models.PositiveIntegerField(default=0)
    # Set when a re-run of the approved submission found errors or warnings over tolerance: it
    # stays approved (a re-run never un-approves), and liaison sees this on its page and the grid.
    approved_no_longer_passes = models.BooleanField(default=False)
    # Set by retention (portal.retention) once a superseded submission's record and failure rows
    # are removed; its file, counts, rule summary and audit stay. A re-load clears it.
    records_archived_at = models.DateTimeField(null=True, blank=True)
    # When it became superseded (a newer upload completed, or a newer one was approved): retention
    # counts its age from here, so an upload that was current for months keeps its rows for the
    # whole retention period after it was replaced.
    superseded_at = models.DateTimeField(null=True, blank=True)

    student_count = models.PositiveIntegerField(default=0)
    instance_count = models.PositiveIntegerField(default=0)
    error_count = models.PositiveIntegerField(default=0)
    warning_count = models.PositiveIntegerField(default=0)
    schema_error_count = models.PositiveIntegerField(default=0)
    # Compared with the previous completed upload of the same provider and collection.
    previous_submission = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    records_added = models.PositiveIntegerField(null=True, blank=True)
    records_removed = models.PositiveIntegerField(null=True, blank=True)
    records_changed = models.PositiveIntegerField(null=True, blank=True)
    # Parsed from the file's header.
    file_ukprn = models.CharField(max_length=8, blank=True)
    file_instid = models.CharField(max_length=4, blank=True)
    file_recid = models.CharField(max_length=5, blank=True)

    class Meta:
        db_table = "collections_app_submission"  # named in hand-written SQL (hin.rules)
        ordering = ["-uploaded_at", "-id"]
        indexes = [models.Index(fields=["provider", "collection", "-uploaded_at"])]

    def __str__(self):
        return f"Submission {self.pk} ({self.collection.reference}, {self.provider.ukprn})"

    @property
    def is_in_flight(self) -> bool:
        return self.status in IN_FLIGHT

    @property
    def is_complete(self) -> bool:
        return self.status not in IN_FLIGHT and self.status != SubmissionStatus.ERROR


class SchemaError(models.Model):
    """A located schema or well-formedness error; any of these means the file was rejected."""

    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="schema_errors")
    line = models.PositiveIntegerField(null=True)
    path = models.CharField(max_length=300, blank=True)
    # The record the error is in, as the file identifies it (Student record: HUSID and OWNSTU).
    record = models.CharField(max_length=100, blank=True)
    message = models.TextField()

    class Meta:
        ordering = ["line", "id"]


class Severity(models.TextChoices):
    ERROR = "error", "Error"
    WARNING = "warning", "Warning"


class RuleResult(models.Model):
    """One rule's outcome for one submission (a row even when nothing failed)."""

    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="rule_results")
    code = models.CharField(max_length=32)
    severity = models.CharField(max_length=8, choices=Severity.choices)
    failure_count = models.PositiveIntegerField()

    class Meta:
        ordering = ["-failure_count", "code"]
        constraints = [models.UniqueConstraint(fields=["submission", "code"], name="rule_result_once")]


class RuleFailure(models.Model):
    """One record failing one rule. Written set-based by the rules engine (INSERT … SELECT)."""

    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="failures", db_index=False)
    code = models.CharField(max_length=32)
    severity = models.CharField(max_length=8, choices=Severity.choices)
    # The record a failure points at, as ids of the kind's own tables (Student record: sr_instance and
    # sr_student; a kind with one table fills `instance` only). The foreign keys name the Student
    # record's models by label, so the screens can join them; no database constraint ties them.
    instance = models.ForeignKey(
        "student_record.Instance", null=True, on_delete=models.DO_NOTHING, related_name="+", db_constraint=False
    )
    student = models.ForeignKey(
        "student_record.Student", null=True, on_delete=models.DO_NOTHING, related_name="+", db_constraint=False
    )
    # Year-on-year checks: the other year's record the failure is about (the linked or suggested
    # previous record; for check 7, which is reported on a previous record, the suggested current one).
    other_instance = models.ForeignKey(
        "student_record.Instance",
        null=True,
        on_delete=models.DO_NOTHING,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    line = models.PositiveIntegerField(null=True)
    husid = models.CharField(max_length=13, blank=True)
    numhus = models.CharField(max_length=20, blank=True)
    field = models.CharField(max_length=32, blank=True)
    value = models.CharField(max_length=255, blank=True)
    message = models.TextField()
    # The student's names, copied by the rules engine as it stores the failure: the failures list
    # sorts by surname, and an index can serve that order only on this table (a sort across the
    # join read every failure of the rule and all the students: 87 ms at 21,489 failures).
    fnames = models.CharField(max_length=100, null=True, blank=True)
    surname = models.CharField(max_length=100, null=True, blank=True)

    class Meta:
        db_table = "sr_rule_failure"
        # The failure list's orders (issue 11): a keyset page walks one of these from its cursor.
        indexes = [
            models.Index(fields=["submission", "code", "id"], name="sr_failure_sub_code"),
            models.Index(fields=["submission", "code", "line", "id"], name="sr_failure_sub_code_line"),
            models.Index(fields=["submission", "line", "id"], name="sr_failure_sub_line"),
            models.Index(fields=["submission", "husid", "numhus", "id"], name="sr_failure_sub_husid"),
            models.Index(fields=["submission", "code", "surname", "fnames", "id"], name="sr_failure_sub_code_name"),
            models.Index(fields=["submission", "surname", "fnames", "id"], name="sr_failure_sub_name"),
        ]


class WarningConfirmation(models.Model):
    """A provider's confirmation that a warning is a data quality improvement (the data is right).

    Keyed on the record's HIN and the failure's value (for year-on-year checks the value names
    the change, e.g. "F (was M)") rather than on a failure row, so the confirmation carries forward
    to every later upload of the same collection that reports the same change for the same record.
    """

    provider = models.ForeignKey(Provider, on_delete=models.PROTECT, related_name="+")
    collection = models.ForeignKey(Collection, on_delete=models.PROTECT, related_name="+")
    code = models.CharField(max_length=32)
    husid = models.CharField(max_length=13)
    numhus = models.CharField(max_length=20)
    value = models.CharField(max_length=255, blank=True)
    reason = models.TextField()
    submission = models.ForeignKey(
        Submission, on_delete=models.PROTECT, related_name="+", help_text="The upload it was first confirmed on."
    )
    confirmed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    confirmed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-confirmed_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "collection", "code", "husid", "numhus", "value"], name="warning_confirmed_once"
            )
        ]
