"""Run the submissions sweep once, as beat does every minute (see services.submissions_sweep)."""

from django.core.management.base import BaseCommand

from collections_app.services import submissions_sweep


class Command(BaseCommand):
    help = (
        "Re-queue submissions whose worker was lost (heartbeat stopped) and send the tasks of queued "
        "submissions the broker never got. Safe to run at any time, and alongside beat."
    )

    def handle(self, *args, **options):
        swept = submissions_sweep()
        self.stdout.write(
            f"{swept['requeued']} re-queued after their worker was lost, {swept['errored']} left in error "
            f"after too many lost runs, {swept['sent']} queued submission(s) sent to the broker."
        )
