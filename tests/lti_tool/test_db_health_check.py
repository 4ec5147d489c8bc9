"""The PostgreSQL backend checks an idle connection's health, and trusts one seen working
within the last second (no `SELECT 1` round trip at the start of each request of a burst)."""

from __future__ import annotations

import pytest
from django.db import connection, connections

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL backend")


@pytest.fixture
def wrapper(db):
    """A connection of its own (the test's own runs inside its transaction)."""
    own = connections.create_connection("default")
    own.connect()
    yield own
    own.close()


def broken(own):
    """The server side is gone, as after a database restart; Django has not noticed."""
    own.connection.close()
    own.health_check_done = False  # a new request


def test_the_backend_in_use_is_finishlines(wrapper):
    assert type(wrapper).__module__ == "lti_tool.db.postgresql.base"
    assert wrapper.health_check_enabled


def test_an_idle_connection_is_checked_and_a_dead_one_dropped(wrapper):
    wrapper.known_good_at = float("-inf")  # nothing seen for a while
    broken(wrapper)
    wrapper.close_if_health_check_failed()
    assert wrapper.connection is None


def test_a_connection_seen_working_just_now_is_not_checked_again(wrapper):
    broken(wrapper)
    wrapper.close_if_health_check_failed()
    assert wrapper.connection is not None  # trusted: no round trip spent on it
    assert wrapper.health_check_done


def test_a_passed_check_counts_as_seen_working(wrapper):
    wrapper.known_good_at = float("-inf")
    wrapper.health_check_done = False
    wrapper.close_if_health_check_failed()
    assert wrapper.connection is not None
    assert wrapper.known_good_at > float("-inf")
