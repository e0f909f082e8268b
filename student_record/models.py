"""The Student record's stored records: one row per <Student> and per <Instance> of a file.

Written only by the pipeline, in bulk (COPY), for a submission it holds; see student_record.parse.
"""

from django.db import models

from collections_app.models import Submission


# Stored record tables. Their primary keys are derived from (submission, position in file),
# see collections_app.pipeline.ids: re-running a load writes the very same rows, and bulk COPY
# needs no round trip to allocate ids. No database-level foreign keys: a per-row trigger check
# would double the COPY time, and only the pipeline writes these rows, for a submission it holds.
class Student(models.Model):
    id = models.BigIntegerField(primary_key=True)
    submission = models.ForeignKey(
        Submission, on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    line = models.PositiveIntegerField()
    husid = models.CharField(max_length=13)
    ownstu = models.CharField(max_length=20, blank=True)
    fnames = models.CharField(max_length=100)
    surname = models.CharField(max_length=100)
    birthdte = models.DateField()
    gender = models.CharField(max_length=1)
    ethnic = models.CharField(max_length=2)
    ucasnum = models.CharField(max_length=9, blank=True)

    class Meta:
        db_table = "sr_student"
        indexes = [models.Index(fields=["submission", "husid"], name="sr_student_sub_husid")]


class Instance(models.Model):
    id = models.BigIntegerField(primary_key=True)
    submission = models.ForeignKey(
        Submission, on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    student = models.ForeignKey(Student, on_delete=models.DO_NOTHING, related_name="instances", db_constraint=False)
    line = models.PositiveIntegerField()
    husid = models.CharField(max_length=13)  # denormalised from the student: HIN joins stay narrow
    numhus = models.CharField(max_length=20)
    ownpsd = models.CharField(max_length=20, blank=True)
    qualaim = models.CharField(max_length=2)
    ptitle = models.CharField(max_length=255)
    comdate = models.DateField()
    mode = models.CharField(max_length=2)
    rsnleave = models.CharField(max_length=2, blank=True)
    dateleft = models.DateField(null=True)
    notact = models.CharField(max_length=2, blank=True)
    qual1 = models.CharField(max_length=2, blank=True)
    qual2 = models.CharField(max_length=2, blank=True)
    yrllinst = models.CharField(max_length=2, blank=True)
    totalts = models.CharField(max_length=4, blank=True)
    qualent2 = models.CharField(max_length=2, blank=True)
    postcode = models.CharField(max_length=8, blank=True)
    domicile = models.CharField(max_length=2, blank=True)

    class Meta:
        db_table = "sr_instance"
        indexes = [
            models.Index(fields=["submission", "husid", "numhus"], name="sr_instance_sub_hin"),
            # The HIN Target List's order (file order), walked by a keyset page; on PostgreSQL it
            # carries the closed-off fields, so the list's count and page jumps read the index alone.
            models.Index(
                fields=["submission", "line", "id"],
                name="sr_instance_sub_line_cov",
                include=["rsnleave", "dateleft", "notact", "mode"],
            ),
        ]
