"""Prometheus metrics at /metrics (METRICS_TOKEN as a bearer token, and/or a client address in
METRICS_ALLOWED_NETWORKS; with neither set the route answers 404).

Two sources, concatenated in one answer:

- the web processes' own metrics, from django-prometheus's middleware: request latency by view
  (`django_http_requests_latency_seconds_by_view_method`), requests and responses by status, ...
  With several gunicorn workers set PROMETHEUS_MULTIPROC_DIR (an empty folder, shared by them,
  emptied at start): prometheus_client then sums every worker process (docker compose does).
- the pipeline's, read from the database at scrape time (PipelineCollector). The Celery worker is
  another process on another machine: rather than a metrics port per worker, the figures come
  from what the pipeline already records on each submission: its status, `queued_at` and the
  seconds each stage took (`Submission.stage_timings`, written by the runner). So they survive
  worker restarts and are the same whichever web process is scraped. Histograms are built over
  every submission that has timings (a few thousand a year: one indexed scan per scrape).
"""

from __future__ import annotations

import hmac
import ipaddress
import math
import os
from collections import defaultdict

from django.conf import settings
from django.db.models import Count, Max, Min
from django.http import Http404, HttpResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest, multiprocess
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily

from accounts.lockout import client_ip
from collections_app.models import CollectionKind, Stage, Submission, SubmissionStatus

from .models import WorkerHeartbeat

STAGE_BUCKETS = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, math.inf)
RATE_BUCKETS = (100, 250, 500, 1000, 2500, 5000, 10_000, 25_000, 50_000, 100_000, math.inf)
# The stages whose time is spent reading and storing the file's records (rows per second).
INGEST_STAGES = (Stage.SCHEMA, Stage.LOADING)


def _histogram(name: str, documentation: str, labels: list[str], samples: dict[tuple, list[float]], buckets):
    family = HistogramMetricFamily(name, documentation, labels=labels)
    for key, values in sorted(samples.items()):
        cumulative = [(_le(bound), sum(1 for v in values if v <= bound)) for bound in buckets]
        family.add_metric(list(key), cumulative, sum_value=sum(values))
    return family


def _le(bound: float) -> str:
    return "+Inf" if bound == math.inf else repr(float(bound))


class PipelineCollector:
    """Submissions, the queue and the pipeline's stage times, from the database."""

    def collect(self):
        now = timezone.now()
        by_status = GaugeMetricFamily(
            "portal_submissions", "Submissions by record kind and status.", labels=["kind", "status"]
        )
        counts = {
            (row["collection__kind"], row["status"]): row["n"]
            for row in Submission.objects.values("collection__kind", "status").annotate(n=Count("pk"))
        }
        # Every kind and status, zeros included: a series that appears only once non-zero hides its start.
        known_kinds = sorted({kind for kind, _ in counts} | set(CollectionKind.values))
        for kind in known_kinds:
            for status in SubmissionStatus.values:
                by_status.add_metric([kind, status], counts.get((kind, status), 0))
        yield by_status

        failed = GaugeMetricFamily(
            "portal_pipeline_failed_jobs",
            "Submissions whose processing ended in error (the pipeline raised, or lost its worker "
            "PIPELINE_MAX_ATTEMPTS times); a retry queues one again.",
            labels=["kind"],
        )
        for kind in known_kinds:
            failed.add_metric([kind], counts.get((kind, SubmissionStatus.ERROR), 0))
        yield failed

        queued = Submission.objects.filter(status=SubmissionStatus.QUEUED).aggregate(
            n=Count("pk"), oldest=Min("queued_at")
        )
        yield GaugeMetricFamily("portal_queue_depth", "Submissions queued, waiting for a worker.", value=queued["n"])
        oldest = (now - queued["oldest"]).total_seconds() if queued["oldest"] else 0.0
        yield GaugeMetricFamily(
            "portal_queue_oldest_age_seconds", "Age of the oldest queued submission (0: none queued).", value=oldest
        )
        processing = Submission.objects.filter(status=SubmissionStatus.PROCESSING).count()
        yield GaugeMetricFamily("portal_pipeline_processing", "Submissions being processed now.", value=processing)
        last_ping = WorkerHeartbeat.objects.aggregate(last=Max("seen_at"))["last"]
        if last_ping is not None:
            yield GaugeMetricFamily(
                "portal_worker_last_ping_age_seconds",
                "Seconds since a worker last answered beat's ping (portal.worker_ping).",
                value=(now - last_ping).total_seconds(),
            )
        yield from self._stage_metrics()

    def _stage_metrics(self):
        stages: dict[tuple, list[float]] = defaultdict(list)
        rates: dict[tuple, list[float]] = defaultdict(list)
        rows_total: dict[str, int] = defaultdict(int)
        seconds_total: dict[str, float] = defaultdict(float)
        timed = (
            Submission.objects.exclude(stage_timings={})
            .values_list("collection__kind", "stage_timings", "instance_count")
            .order_by()
        )
        for kind, timings, records in timed.iterator(chunk_size=2000):
            if not isinstance(timings, dict):
                continue
            for stage, seconds in timings.items():
                stages[(kind, stage)].append(float(seconds))
            if all(stage in timings for stage in INGEST_STAGES) and records:
                ingest = sum(float(timings[stage]) for stage in INGEST_STAGES)
                rates[(kind,)].append(records / max(ingest, 1e-6))
                rows_total[kind] += records
                seconds_total[kind] += ingest
        yield _histogram(
            "portal_pipeline_stage_duration_seconds",
            "Seconds each pipeline stage took, per submission, by record kind and stage.",
            ["kind", "stage"],
            stages,
            STAGE_BUCKETS,
        )
        yield _histogram(
            "portal_pipeline_rows_per_second",
            "Records read and stored per second (schema and loading stages), per submission, by record kind.",
            ["kind"],
            rates,
            RATE_BUCKETS,
        )
        rows = CounterMetricFamily(
            "portal_pipeline_ingested_rows", "Records read and stored by the pipeline, by record kind.", labels=["kind"]
        )
        seconds = CounterMetricFamily(
            "portal_pipeline_ingest_seconds",
            "Seconds spent reading and storing records (schema and loading stages), by record kind.",
            labels=["kind"],
        )
        for kind in sorted(rows_total):
            rows.add_metric([kind], rows_total[kind])
            seconds.add_metric([kind], seconds_total[kind])
        yield rows
        yield seconds


_pipeline_registry = CollectorRegistry(auto_describe=False)
_pipeline_registry.register(PipelineCollector())


def _process_metrics() -> bytes:
    """The web processes' own metrics: every gunicorn worker's in multiprocess mode, else this one's."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry)
    return generate_latest(REGISTRY)


def scrape_allowed(request) -> bool:
    token, networks = settings.METRICS_TOKEN, settings.METRICS_ALLOWED_NETWORKS
    if token:
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode()):
            return True
    if networks:
        try:
            address = ipaddress.ip_address(client_ip(request) or "")
        except ValueError:
            return False
        return any(address in network for network in networks)
    return False


@never_cache
@require_GET
def metrics(request):
    # 404, not 401/403: the route is not there for anyone without the token or address.
    if not scrape_allowed(request):
        raise Http404
    body = _process_metrics() + generate_latest(_pipeline_registry)
    return HttpResponse(body, content_type=CONTENT_TYPE_LATEST)
