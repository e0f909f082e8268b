"""When a submission became superseded, for retention's age. Existing superseded submissions get
the time the next upload of the same provider and collection finished (what superseded them), or
their own finish where none did (an approval superseded them)."""

from django.db import migrations, models

# Portable (PostgreSQL and SQLite): a correlated subquery along the (provider, collection) index.
BACKFILL = """
UPDATE collections_app_submission
SET superseded_at = COALESCE(
    (SELECT MIN(n.finished_at) FROM collections_app_submission n
     WHERE n.provider_id = collections_app_submission.provider_id
       AND n.collection_id = collections_app_submission.collection_id
       AND n.id > collections_app_submission.id
       AND n.finished_at IS NOT NULL
       AND n.status IN ('failed', 'passed', 'approved', 'superseded')),
    finished_at)
WHERE status = 'superseded'
"""


class Migration(migrations.Migration):
    dependencies = [
        ("collections_app", "0011_rulefailure_names"),
    ]

    operations = [
        migrations.AddField(
            model_name="submission",
            name="superseded_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunSQL(BACKFILL, reverse_sql=migrations.RunSQL.noop),
    ]
