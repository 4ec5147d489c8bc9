"""Platform JWKS: cached, refetched once for an unknown kid (at most so often), time-bounded."""

from __future__ import annotations

import logging
import socket
import threading
import time
from contextlib import contextmanager
from datetime import timedelta

import pytest
import time_machine
from cryptography.hazmat.primitives.asymmetric import rsa
from django.utils import timezone

from lti_tool.models import PlatformKeySet
from tests.lti_tool.helpers import assert_refused, jwks_fetches, post_launch
from tests.platform.server import Response


@pytest.fixture(autouse=True)
def _log(caplog):
    caplog.set_level(logging.INFO, logger="finishline.launch")


@pytest.fixture
def quick_timeouts(settings):
    settings.FINISHLINE = {**settings.FINISHLINE, "HTTP_TIMEOUT": (0.5, 0.5)}


def later(seconds):
    """Move the clock on (the platform signs with the same clock)."""
    return time_machine.travel(timezone.now() + timedelta(seconds=seconds))


def clear_launch_rows():
    from completion.models import Activity
    from lti_tool.models import Course, Person, UsedNonce

    Activity.objects.all().delete()
    UsedNonce.objects.all().delete()
    Person.objects.all().delete()
    Course.objects.all().delete()


def test_two_launches_fetch_the_platform_keys_once(client, platform):
    for sub in ("a", "b"):
        assert post_launch(client, platform, sub=sub).status_code == 200
    assert jwks_fetches(platform) == 1


def test_the_key_set_is_cached_across_processes_in_the_database(client, platform):
    from lti_tool.keys.platform import forget_platform_keys

    assert post_launch(client, platform, sub="a").status_code == 200
    forget_platform_keys()  # another process: nothing in memory, the database row is there
    assert post_launch(client, platform, sub="b").status_code == 200
    assert jwks_fetches(platform) == 1


def test_a_stale_key_set_is_fetched_again(client, platform, settings):
    assert post_launch(client, platform, sub="a").status_code == 200
    with later(settings.FINISHLINE["PLATFORM_JWKS_TTL"] + 60):
        assert post_launch(client, platform, sub="b").status_code == 200
    assert jwks_fetches(platform) == 2


def test_a_rotated_platform_key_is_fetched_once_and_accepted(client, platform):
    assert post_launch(client, platform, sub="a").status_code == 200
    platform.rotate_key()  # the platform signs with a key the tool has never seen
    with later(30):
        assert post_launch(client, platform, sub="b").status_code == 200
        assert post_launch(client, platform, sub="c").status_code == 200
    assert jwks_fetches(platform) == 2


def test_a_kid_the_platform_never_publishes_is_refused_after_exactly_one_refetch(
    client, platform, caplog
):
    assert post_launch(client, platform).status_code == 200
    clear_launch_rows()
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with later(30):
        response = post_launch(client, platform, key=stranger, kid="never-published")
    assert_refused(response, "kid", caplog)
    assert jwks_fetches(platform) == 2


def test_forged_kids_cannot_make_the_tool_hammer_the_platform(client, platform, caplog):
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    for n in range(5):
        response = post_launch(client, platform, key=stranger, kid=f"forged-{n}")
        assert_refused(response, "kid", caplog)
    # The first forged kid fetched the set; the rest fall within the refetch interval.
    assert jwks_fetches(platform) == 1
    assert any("platform_jwks_refetch_skipped" in r.getMessage() for r in caplog.records)


def test_a_rotation_within_the_refetch_interval_is_accepted_once_it_has_passed(
    client, platform, caplog
):
    assert post_launch(client, platform, sub="a").status_code == 200
    platform.rotate_key()
    refused = post_launch(client, platform, sub="b")
    assert refused.status_code == 400
    assert refused.context["code"] == "kid"
    with later(10):
        assert post_launch(client, platform, sub="c").status_code == 200


def test_a_key_set_endpoint_that_fails_gives_a_clear_502_page(client, platform, caplog):
    platform.route("GET", "/jwks", lambda r: Response(500, {"error": "down"}))
    response = post_launch(client, platform)
    assert_refused(response, "jwks", caplog, status=502)
    assert b"try again shortly" in response.content


def test_a_malformed_key_set_gives_a_clear_502_page(client, platform, caplog):
    platform.route("GET", "/jwks", lambda r: Response(body={"not": "a jwks"}))
    assert_refused(post_launch(client, platform), "jwks", caplog, status=502)


@contextmanager
def slow_key_set_server(platform, *, trickle):
    """A JWKS URL that answers nothing (trickle=False) or one byte every 50 ms (trickle=True)."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve():
        try:
            connection, _ = listener.accept()
        except OSError:
            return
        with connection:
            connection.recv(65536)
            if trickle:
                connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")
            while not stop.wait(0.05):
                if trickle:
                    try:
                        connection.sendall(b" ")
                    except OSError:
                        return

    threading.Thread(target=serve, daemon=True).start()
    platform.record.jwks_url = f"http://127.0.0.1:{listener.getsockname()[1]}/jwks"
    platform.record.save(update_fields=["jwks_url"])
    try:
        yield
    finally:
        stop.set()
        listener.close()


def test_a_hanging_key_set_endpoint_is_cut_by_the_timeout(client, platform, caplog, quick_timeouts):
    started = time.monotonic()
    with slow_key_set_server(platform, trickle=False):
        response = post_launch(client, platform)
    assert time.monotonic() - started < 5
    assert_refused(response, "jwks", caplog, status=502)
    assert any("timed out" in r.getMessage() for r in caplog.records)


def test_a_trickling_key_set_endpoint_is_cut_by_the_overall_deadline(
    client, platform, caplog, quick_timeouts
):
    """Each byte arrives within the read timeout, but the whole answer would take minutes."""
    started = time.monotonic()
    with slow_key_set_server(platform, trickle=True):
        response = post_launch(client, platform)
    assert time.monotonic() - started < 5
    assert_refused(response, "jwks", caplog, status=502)
    assert any("longer than its time limit" in r.getMessage() for r in caplog.records)


def test_a_refetch_is_kept_even_when_the_launch_is_refused(client, platform, caplog):
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    assert_refused(post_launch(client, platform, key=stranger, kid="x"), "kid", caplog)
    assert PlatformKeySet.objects.filter(platform=platform.record).exists()


def test_keys_marked_for_encryption_are_not_used_to_verify(client, platform, caplog):
    def jwks_with_enc_use(request):
        document = platform.jwks()
        for key in document["keys"]:
            key["use"] = "enc"
        return Response(body=document)

    platform.route("GET", "/jwks", jwks_with_enc_use)
    assert_refused(post_launch(client, platform), "kid", caplog)
