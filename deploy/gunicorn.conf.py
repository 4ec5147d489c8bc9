"""gunicorn settings of the production stack (deploy/stack.sh, the systemd unit, the image)."""

from __future__ import annotations

import os
from typing import Any

bind = os.environ.get("FINISHLINE_APP_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_WORKERS", "2"))
threads = int(os.environ.get("WEB_THREADS", "4"))
worker_class = "gthread"
timeout = 120
graceful_timeout = 30
# The proxy on this host terminates TLS and sets X-Forwarded-Proto.
forwarded_allow_ips = os.environ.get("FINISHLINE_FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
accesslog = None  # the proxy logs each request, with its request id
errorlog = "-"
preload_app = False


def child_exit(server: Any, worker: Any) -> None:
    """A web process that ends leaves its live gauges out of /metrics."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]
