"""Print the broker the demo's worker should use: Redis if one answers here, else the filesystem."""

from django.core.management.base import BaseCommand

from portal.brokers import DEMO_REDIS_URL, demo_broker_url


class Command(BaseCommand):
    help = "Print the Celery broker URL for ./scripts/demo: Redis if it answers, else kombu's filesystem transport."

    def add_arguments(self, parser):
        parser.add_argument("--redis-url", default=DEMO_REDIS_URL, help=f"Redis to try (default {DEMO_REDIS_URL}).")

    def handle(self, *args, redis_url, **options):
        self.stdout.write(demo_broker_url(redis_url))
