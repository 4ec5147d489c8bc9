"""Finishline's Prometheus metrics: counters and histograms that any layer may bump.

This module reads no model. Web and worker processes update these objects in their own memory;
when PROMETHEUS_MULTIPROC_DIR is set (the production stack sets it for gunicorn and the
workers alike), prometheus_client writes them to files there and `/metrics` adds them up
across every process of the host. Gauges read from the database at scrape time (queue depth,
outbox by state, heartbeat age) are in `ops.collectors`.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

REQUESTS = Counter(
    "finishline_http_requests",
    "HTTP requests answered, by method and status class.",
    ["method", "status"],
)
REQUEST_SECONDS = Histogram(
    "finishline_http_request_duration_seconds",
    "Time to answer an HTTP request.",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
LAUNCHES = Counter(
    "finishline_lti_launches", "LTI launches accepted, by message type.", ["message_type"]
)
REFUSALS = Counter(
    "finishline_lti_refusals",
    "LTI logins and launches refused, by step and reason code.",
    ["step", "code"],
)
EVENTS_INGESTED = Counter(
    "finishline_events_ingested",
    "Learning events offered to the event store, by outcome.",
    ["outcome"],
)
SCORING_RUNS = Counter(
    "finishline_scoring_runs", "Risk scoring runs of one course, by kind.", ["kind"]
)
SCORING_SECONDS = Histogram(
    "finishline_scoring_duration_seconds",
    "Time to score one course.",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
)
PROVIDER_ERRORS = Counter(
    "finishline_provider_errors",
    "Failures of outside services (LMS platform services, mail, SMS, webhooks), by provider.",
    ["provider"],
)


def status_class(status: int) -> str:
    """`2xx`, `4xx`…: few label values, so the series stay few."""
    return f"{status // 100}xx"
