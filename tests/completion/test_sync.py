"""Roster and grade syncs against the live local platform (NRPS 2.0, AGS 2.0)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import time_machine

from completion.ingest.lms.sync import post_completion_score, sync_course_grades, sync_course_roster
from completion.models import Activity, CompletionCriteria, CourseSync, Item, Outcome
from lti_tool.models import Course, Deployment, Membership, MembershipChange
from lti_tool.platform_services.client import PlatformUnavailable, RetryPolicy
from tests.platform.services import Services, member

FAST = RetryPolicy(attempts=3, base_delay=0, sleep=lambda s: None)


@pytest.fixture
def services(platform):
    services = Services(platform)
    Course.objects.create(
        deployment=Deployment.objects.get(),
        context_id="ABC",
        title="Course ABC",
        nrps_url=services.nrps_url,
        ags_lineitems_url=services.lineitems_url,
    )
    return services


def course():
    return Course.objects.get(context_id="ABC")


def test_full_roster_sync_follows_paging_exactly_and_records_roles(services):
    services.members = [
        member("a"),
        member("b", "Instructor"),
        member("c"),
        member("d", status="Inactive"),
        member("e"),
    ]
    counts = sync_course_roster(course().pk, policy=FAST)
    assert counts == {"members": 5, "added": 5, "changed": 0, "removed": 0, "incremental": False}
    roles = dict(Membership.objects.values_list("person__sub", "role"))
    assert roles == {
        "a": "learner",
        "b": "instructor",
        "c": "learner",
        "d": "learner",
        "e": "learner",
    }
    assert Membership.objects.get(person__sub="d").status == "inactive"
    pages = [r for r in services.platform.requests if r.path.endswith("/Memberships")]
    assert [r.query.get("Cursor") for r in pages] == [None, ["MiXeD"], ["MiXeD"]]  # case kept
    sync = CourseSync.objects.get(kind="roster")
    assert sync.last_success_at is not None
    assert sync.differences_url.endswith("/Differences?Since=Token5")


def test_second_sync_uses_the_differences_link_and_dates_status_changes(services):
    services.members = [member("a"), member("b")]
    with time_machine.travel(datetime(2026, 3, 1, tzinfo=UTC), tick=False):
        sync_course_roster(course().pk, policy=FAST)
    services.differences = [member("a", status="Inactive"), member("z")]
    with time_machine.travel(datetime(2026, 3, 5, tzinfo=UTC), tick=False):
        counts = sync_course_roster(course().pk, policy=FAST)
    assert counts["incremental"] is True
    assert (counts["added"], counts["changed"], counts["removed"]) == (1, 1, 0)
    a = Membership.objects.get(person__sub="a")
    assert a.status == "inactive"
    assert a.status_changed_at == datetime(2026, 3, 5, tzinfo=UTC)
    change = MembershipChange.objects.get(membership=a, field="status", new_value="inactive")
    assert (change.old_value, change.source) == ("active", "nrps")
    assert Membership.objects.get(person__sub="b").status == "active"  # not in the differences


def test_members_missing_from_a_full_listing_are_marked_deleted_not_removed(services):
    services.members = [member("a"), member("b")]
    sync_course_roster(course().pk, policy=FAST)
    CourseSync.objects.update(differences_url="")
    services.members = [member("a")]
    assert sync_course_roster(course().pk, policy=FAST)["removed"] == 1
    assert Membership.objects.get(person__sub="b").status == "deleted"


def test_a_platform_that_fails_midway_changes_nothing_and_the_error_is_recorded(services):
    services.members = [member("a"), member("b"), member("c")]
    services.failures = [500, 500, 500]  # the first page's three attempts all fail
    with pytest.raises(PlatformUnavailable):
        sync_course_roster(course().pk, policy=FAST)
    assert not Membership.objects.exists()
    sync = CourseSync.objects.get(kind="roster")
    assert "500" in sync.last_error
    assert sync.last_success_at is None


def test_429_and_5xx_are_retried_honouring_retry_after(services):
    waits = []
    policy = RetryPolicy(attempts=4, base_delay=0.01, sleep=waits.append)
    services.members = [member("a")]
    services.failures = [429, 503]
    assert sync_course_roster(course().pk, policy=policy)["members"] == 1
    assert waits == [0.0, 0.0]  # Retry-After: 0 from the platform, not our own backoff


def test_service_token_is_cached_until_it_expires(services):
    services.members = [member(s) for s in "abcdef"]  # three pages
    with time_machine.travel(datetime(2026, 3, 1, 12, tzinfo=UTC), tick=False):
        sync_course_roster(course().pk, policy=FAST)
        sync_course_roster(course().pk, policy=FAST)
    assert len(services.platform.issued_tokens) == 1
    with time_machine.travel(
        datetime(2026, 3, 1, 13, 1, tzinfo=UTC), tick=False
    ):  # expires_in 3600
        sync_course_roster(course().pk, policy=FAST)
    assert len(services.platform.issued_tokens) == 2
    form = services.platform.issued_tokens[0]
    assert (
        form["scope"] == "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"
    )
    assert form["client_assertion_type"] == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def test_grades_land_as_events_once(services):
    services.members = [member("a"), member("b")]
    sync_course_roster(course().pk, policy=FAST)
    lineitem = {"id": services.lineitems_url + "/1", "label": "Module 1 quiz", "scoreMaximum": 20}
    services.add_lineitem(
        lineitem,
        [
            {
                "id": "r1",
                "userId": "a",
                "resultScore": 15,
                "resultMaximum": 20,
                "timestamp": "2026-03-02T10:00:00Z",
            },
            {"id": "r2", "userId": "b", "resultScore": 5, "timestamp": "2026-03-02T11:00:00Z"},
        ],
    )
    first = sync_course_grades(course().pk, policy=FAST)
    assert (first["lineitems"], first["stored"]) == (1, 2)
    assert sync_course_grades(course().pk, policy=FAST)["stored"] == 0
    item = Item.objects.get()
    assert (item.kind, item.title, item.score_maximum) == ("assessment", "Module 1 quiz", 20)
    scores = dict(Activity.objects.values_list("person__sub", "score"))
    assert scores == {"a": 0.75, "b": 0.25}


def test_completion_is_written_back_through_the_tools_own_line_item(services):
    services.failures = []
    post_completion_score(
        course=course(),
        user_id="a",
        score=100,
        completed=True,
        timestamp=datetime(2026, 3, 9, tzinfo=UTC),
        policy=FAST,
    )
    post_completion_score(
        course=course(),
        user_id="b",
        score=40,
        completed=False,
        timestamp=datetime(2026, 3, 9, tzinfo=UTC),
        policy=FAST,
    )
    assert [li["tag"] for li in services.lineitems] == ["finishline-completion"]  # created once
    assert services.scores[0] == {
        "userId": "a",
        "scoreGiven": 100,
        "scoreMaximum": 100,
        "activityProgress": "Completed",
        "gradingProgress": "FullyGraded",
        "timestamp": "2026-03-09T00:00:00+00:00",
    }
    assert services.scores[1]["activityProgress"] == "InProgress"


def test_a_learner_the_roster_lists_as_inactive_or_gone_has_withdrawn_on_that_day(
    services, django_capture_on_commit_callbacks
):
    services.members = [member("a"), member("b"), member("c"), member("t", "Instructor")]
    with (
        time_machine.travel(datetime(2026, 3, 1, 9, tzinfo=UTC), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        sync_course_roster(course().pk, policy=FAST)
    assert not Outcome.objects.exists()
    c = Membership.objects.get(person__sub="c")
    Outcome.objects.create(
        membership=c, result="passed", decided_on=date(2026, 2, 27), source="instructor",
        recorded_at=datetime(2026, 2, 27, tzinfo=UTC),
    )  # fmt: skip
    services.differences = [
        member("a", status="Inactive"),
        member("b", status="Deleted"),
        member("c", status="Inactive"),
        member("t", "Instructor", status="Deleted"),
    ]
    with (
        time_machine.travel(datetime(2026, 3, 5, 9, tzinfo=UTC), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        sync_course_roster(course().pk, policy=FAST)
    found = {
        o.membership.person.sub: (o.result, o.decided_on, o.source)
        for o in Outcome.objects.select_related("membership__person")
    }
    assert found == {
        "a": ("withdrawn", date(2026, 3, 5), "nrps"),
        "b": ("withdrawn", date(2026, 3, 5), "nrps"),
        "c": ("passed", date(2026, 2, 27), "instructor"),  # a final outcome stays
    }
    # Back on the roster: the roster's withdrawal goes, nothing else does.
    services.differences = [member("a"), member("b", status="Inactive"), member("c")]
    with (
        time_machine.travel(datetime(2026, 3, 9, 9, tzinfo=UTC), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        sync_course_roster(course().pk, policy=FAST)
    assert set(Outcome.objects.values_list("membership__person__sub", "source")) == {
        ("b", "nrps"),
        ("c", "instructor"),
    }
    assert Outcome.objects.get(membership__person__sub="b").decided_on == date(2026, 3, 5)


def test_a_final_grade_records_passed_or_failed_against_the_pass_mark(services):
    services.members = [member("a"), member("b"), member("c"), member("d")]
    sync_course_roster(course().pk, policy=FAST)
    d = Membership.objects.get(person__sub="d")
    Outcome.objects.create(
        membership=d, result="withdrawn", decided_on=date(2026, 3, 1), source="instructor",
        recorded_at=datetime(2026, 3, 1, tzinfo=UTC),
    )  # fmt: skip
    quiz = {"id": services.lineitems_url + "/1", "label": "Quiz", "scoreMaximum": 10}
    services.add_lineitem(quiz, [{"id": "q1", "userId": "a", "resultScore": 1}])
    final = {
        "id": services.lineitems_url + "/2",
        "label": "Course total",
        "scoreMaximum": 100,
        "tag": "Final",
    }
    graded = "2026-06-30T12:00:00Z"
    services.add_lineitem(
        final,
        [
            {"id": "f1", "userId": "a", "resultScore": 72, "timestamp": graded},
            {"id": "f2", "userId": "b", "resultScore": 39, "timestamp": graded},
            {"id": "f3", "userId": "c"},  # not graded yet
            {"id": "f4", "userId": "d", "resultScore": 90, "timestamp": graded},
        ],
    )
    CompletionCriteria.objects.create(course=course(), min_overall_score=0.4)
    counts = sync_course_grades(course().pk, policy=FAST)
    assert counts["outcomes"] == 2
    found = {
        o.membership.person.sub: (o.result, o.decided_on, o.source)
        for o in Outcome.objects.select_related("membership__person")
    }
    assert found == {
        "a": ("passed", date(2026, 6, 30), "ags"),
        "b": ("failed", date(2026, 6, 30), "ags"),
        "d": ("withdrawn", date(2026, 3, 1), "instructor"),  # the instructor's word stays
    }
    # The item's own pass mark wins over the course's minimum; a regrade is re-read.
    Item.objects.filter(external_id=final["id"]).update(pass_mark=0.75)
    sync_course_grades(course().pk, policy=FAST)
    assert Outcome.objects.get(membership__person__sub="a").result == "failed"
