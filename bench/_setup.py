"""Shared set-up for the benchmarks: a PostgreSQL database of their own, migrated."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def django_on_postgres(default_db: str) -> None:
    """Point Django at DATABASE_URL (default: a bench database on 127.0.0.1), create, migrate."""
    sys.path.insert(0, str(ROOT))
    url = os.environ.setdefault("DATABASE_URL", f"postgres://postgres@127.0.0.1:5432/{default_db}")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("FINISHLINE_ENV", "demo")  # its own random key, loopback only
    os.environ.setdefault("LOG_LEVEL", "ERROR")
    if url.startswith("postgres"):
        import psycopg

        name = url.rsplit("/", 1)[1]
        admin = url.rsplit("/", 1)[0] + "/postgres"
        with psycopg.connect(admin, autocommit=True) as conn:
            if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
                conn.execute(f'CREATE DATABASE "{name}"')
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def parse_with_smoke(parser: argparse.ArgumentParser, **smoke: Any) -> argparse.Namespace:
    """Parse the arguments; `--smoke` swaps in tiny sizes that run in seconds.

    CI runs every benchmark's smoke mode, so one that no longer runs fails CI. Its figures
    mean nothing: only a full run's are reported.
    """
    parser.add_argument(
        "--smoke", action="store_true", help="tiny sizes, in seconds (CI runs this)"
    )
    args = parser.parse_args()
    if args.smoke:
        for name, value in smoke.items():
            setattr(args, name, value)
    return args


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def bench_deployment() -> Any:
    """The benchmarks' own platform and deployment (no launches go to it)."""
    from lti_tool.models import Deployment, Platform

    platform, _ = Platform.objects.get_or_create(
        issuer="https://bench.example",
        client_id="bench",
        defaults={
            "auth_login_url": "https://bench.example/a",
            "auth_token_url": "https://bench.example/t",
            "jwks_url": "https://bench.example/j",
        },
    )
    deployment, _ = Deployment.objects.get_or_create(platform=platform, deployment_id="bench")
    return deployment


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_gunicorn(port: int, workers: int = 1) -> Any:
    """The app under gunicorn (sync workers, DEBUG off) on a loopback port, once it listens."""
    import socket
    import subprocess
    import time

    env = {**os.environ, "DEBUG": "0", "LOG_LEVEL": "ERROR", "FINISHLINE_ENV": "demo"}
    command = [sys.executable, "-m", "gunicorn", "config.wsgi:application",
               f"--workers={workers}", f"--bind=127.0.0.1:{port}",
               "--log-level=warning"]  # fmt: skip
    server = subprocess.Popen(command, cwd=ROOT, env=env)
    for _ in range(150):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return server
        except OSError:
            time.sleep(0.1)
    server.kill()
    raise SystemExit("gunicorn did not start")
