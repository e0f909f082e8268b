"""`manage.py verify_store`: every stored file's SHA-256 matches its submission's, and every
completed submission's rows match its recorded counts (portal.storecheck). Exits 1 on any problem."""

from django.core.management.base import BaseCommand, CommandError

from portal.storecheck import store_problems


class Command(BaseCommand):
    help = "Check stored files against their SHA-256 and stored rows against the recorded counts."

    def handle(self, *args, **opts):
        problems = store_problems()
        for problem in problems:
            self.stderr.write(problem)
        if problems:
            raise CommandError(f"{len(problems)} problem{'s' if len(problems) != 1 else ''} found")
        self.stdout.write("store verified: every file matches its SHA-256 and every submission its counts")
