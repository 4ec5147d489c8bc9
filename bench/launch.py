"""Benchmark: the full LTI launch on PostgreSQL, in one process.

Each launch is what a browser does: OIDC login initiation, the redirect to the platform, the
platform's signed id_token posted back (validated: state, signature, claims, nonce consumed),
and the landing page. Prints launches per second and p50/p95 latency, beside the cost of one
RS256 verification (the floor no implementation can go under).

    .venv/bin/python bench/launch.py [--launches 2000]
"""

from __future__ import annotations

import argparse
import time
from urllib.parse import parse_qs, urlsplit

from _setup import django_on_postgres, percentile


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--launches", type=int, default=2000)
    args = parser.parse_args()
    django_on_postgres("finishline_bench")

    import jwt
    from django.conf import settings
    from django.test import Client

    from lti_tool.keys import ensure_keys
    from lti_tool.services import register_platform
    from tests.platform.server import TestPlatform

    settings.ALLOWED_HOSTS = ["*"]
    ensure_keys()
    with TestPlatform(client_id="bench-client", deployment_id="bench-deployment") as platform:
        register_platform(
            issuer=platform.issuer,
            client_id=platform.client_id,
            auth_login_url=platform.auth_login_url,
            auth_token_url=platform.token_url,
            jwks_url=platform.jwks_url,
            deployment_ids=[platform.deployment_id],
            actor="bench",
        )
        client = Client()
        timings = []

        def one(n: int) -> float:
            sub = f"learner-{n % 500}"
            start = time.perf_counter()
            login = client.get(
                "/lti/login/",
                {
                    "iss": platform.issuer,
                    "client_id": platform.client_id,
                    "login_hint": sub,
                    "target_link_uri": "http://127.0.0.1:8000/lti/launch/",
                },
            )
            query = parse_qs(urlsplit(login["Location"]).query)
            body = platform.id_token_body(
                sub=sub, nonce=query["nonce"][0], context_id=f"course-{n % 20}"
            )
            token = platform.sign(body)
            landed = client.post(
                "/lti/launch/", {"id_token": token, "state": query["state"][0]}, follow=True
            )
            elapsed = time.perf_counter() - start
            assert landed.status_code == 200, landed.content[:300]
            return elapsed

        for n in range(50):  # warm-up: connections, caches, the platform key set
            one(n)
        sign_cost = []
        for n in range(args.launches):
            body = platform.id_token_body(sub="x", nonce=str(n))
            t = time.perf_counter()
            platform.sign(body)
            sign_cost.append(time.perf_counter() - t)
            timings.append(one(n))
        # The floor: verifying one RS256 id_token.
        token = platform.sign(platform.id_token_body(sub="x", nonce="n"))
        public = platform.keys[-1][1].public_key()
        t = time.perf_counter()
        for _ in range(1000):
            jwt.decode(token, public, algorithms=["RS256"], audience=platform.client_id)
        verify = (time.perf_counter() - t) / 1000

    total = sum(timings)
    platform_sign = sum(sign_cost) / len(sign_cost)
    print(
        f"launches: {len(timings)} on {settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[1]}"
    )
    print(
        f"throughput: {len(timings) / total:.0f} launches/s in one process "
        f"(the test platform's RS256 signing, ~{platform_sign * 1000:.2f} ms a launch, included)"
    )
    p50, p95 = percentile(timings, 0.5) * 1000, percentile(timings, 0.95) * 1000
    print(f"latency: p50 {p50:.2f} ms, p95 {p95:.2f} ms")
    print(f"floor: one RS256 verification {verify * 1000:.3f} ms")


if __name__ == "__main__":
    main()
