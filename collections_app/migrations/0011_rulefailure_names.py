"""The student's names on each failure (rules engine copies them as it stores failures), for the
failures list's surname order along an index; existing failures get theirs from their student."""

from django.db import migrations, models

# Portable (PostgreSQL and SQLite): a correlated subquery per name.
BACKFILL = """
UPDATE sr_rule_failure
SET fnames = (SELECT s.fnames FROM sr_student s WHERE s.id = sr_rule_failure.student_id),
    surname = (SELECT s.surname FROM sr_student s WHERE s.id = sr_rule_failure.student_id)
WHERE student_id IS NOT NULL
"""


class Migration(migrations.Migration):
    dependencies = [
        ("collections_app", "0010_list_indexes"),
        ("student_record", "0004_target_list_covering_index"),
    ]

    operations = [
        migrations.AddField(
            model_name="rulefailure",
            name="fnames",
            field=models.CharField(blank=True, max_length=100, null=True),
        ),
        migrations.AddField(
            model_name="rulefailure",
            name="surname",
            field=models.CharField(blank=True, max_length=100, null=True),
        ),
        migrations.RunSQL(BACKFILL, reverse_sql=migrations.RunSQL.noop),
        migrations.AddIndex(
            model_name="rulefailure",
            index=models.Index(fields=["submission", "code", "surname", "fnames", "id"], name="sr_failure_sub_code_name"),
        ),
        migrations.AddIndex(
            model_name="rulefailure",
            index=models.Index(fields=["submission", "surname", "fnames", "id"], name="sr_failure_sub_name"),
        ),
    ]
