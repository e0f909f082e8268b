"""`manage.py retention [--dry-run] [--days N]`: remove superseded submissions' record and
failure rows past RETENTION_SUPERSEDED_DAYS (portal.retention). Beat runs it nightly."""

from django.core.management.base import BaseCommand

from portal.retention import retention_run


class Command(BaseCommand):
    help = "Remove (or with --dry-run, list) the stored rows of superseded submissions past the retention age."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="report what would go; change nothing")
        parser.add_argument("--days", type=int, default=None, help="override RETENTION_SUPERSEDED_DAYS")

    def handle(self, *args, **opts):
        dry_run = opts["dry_run"]
        removals = retention_run(dry_run=dry_run, days=opts["days"])
        verb = "would remove" if dry_run else "removed"
        totals: dict[str, int] = {}
        for removal in removals:
            s = removal.submission
            rows = ", ".join(f"{table} {n:,}" for table, n in removal.rows.items() if n)
            self.stdout.write(
                f"submission {s.pk} ({s.collection.reference}, {s.provider.ukprn}): {verb} {removal.total:,} rows"
                + (f" ({rows})" if rows else "")
            )
            for table, n in removal.rows.items():
                totals[table] = totals.get(table, 0) + n
        summary = ", ".join(f"{table} {n:,}" for table, n in totals.items() if n) or "no rows"
        self.stdout.write(f"{len(removals)} submission{'s' if len(removals) != 1 else ''}: {verb} {summary}")
