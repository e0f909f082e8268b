"""Name search (surname, forenames; `icontains`, i.e. UPPER(col) LIKE '%X%') served by pg_trgm GIN
indexes on PostgreSQL. Nothing on SQLite, which has no trigram indexes: it scans, as before."""

from django.db import migrations

INDEXES = {
    "sr_student_surname_trgm": "surname",
    "sr_student_fnames_trgm": "fnames",
}


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, column in INDEXES.items():
        # The expression Django's icontains writes, so the planner can match it.
        schema_editor.execute(
            f'CREATE INDEX IF NOT EXISTS {name} ON sr_student USING gin ((UPPER("{column}"::text)) gin_trgm_ops)'
        )


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("student_record", "0002_list_indexes")]

    operations = [migrations.RunPython(forwards, backwards)]
