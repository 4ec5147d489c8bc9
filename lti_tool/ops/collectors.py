"""What `/metrics` shows: the processes' counters plus gauges read from the database."""

from __future__ import annotations

import os
from collections.abc import Iterator

from django.utils import timezone
from prometheus_client import CollectorRegistry, generate_latest, multiprocess
from prometheus_client.core import REGISTRY, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from lti_tool.ops import health


class DatabaseCollector(Collector):
    """Queue depth, the apps' queues by state and the heartbeat's age, asked at scrape time."""

    def collect(self) -> Iterator[Metric]:
        depth = health.queue_depth()
        queue = GaugeMetricFamily("finishline_queue_depth", "Tasks waiting in the broker.")
        if depth is not None:
            queue.add_metric([], depth)
        yield queue
        for counter, counts in health.state_counts():
            gauge = GaugeMetricFamily(
                f"finishline_{counter.name}", counter.description, labels=["state"]
            )
            for state, count in counts.items():
                gauge.add_metric([state], count)
            yield gauge
        newest = health.newest_heartbeat()
        age = GaugeMetricFamily(
            "finishline_worker_heartbeat_age_seconds",
            "Seconds since a worker last stamped its heartbeat.",
        )
        if newest is not None:
            age.add_metric([], (timezone.now() - newest).total_seconds())
        yield age
        ready = GaugeMetricFamily("finishline_ready", "1 when every readiness check passes.")
        ready.add_metric([], float(all(c.ok for c in health.readiness(now=timezone.now()))))
        yield ready


def exposition() -> bytes:
    """The text exposition of every metric of this host's processes and of the database."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        processes = CollectorRegistry()
        multiprocess.MultiProcessCollector(processes)  # type: ignore[no-untyped-call]
    else:
        processes = REGISTRY
    database = CollectorRegistry(auto_describe=False)
    database.register(DatabaseCollector())
    return generate_latest(processes) + generate_latest(database)
