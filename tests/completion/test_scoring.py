from __future__ import annotations

import gc
from datetime import timedelta

import pytest
from django.db import OperationalError, connection

from completion.models import Progress, RiskScore, ScoringRun
from completion.risk import scoring
from completion.risk.facts import facts_from_events
from completion.risk.scoring import score_course
from completion.risk.services import override_status, pause_learner, update_criteria
from completion.risk.signals import codes_in
from lti_tool.models import AuditEntry
from tests.completion.riskdata import START, add, day, enrol, make_course, rows_of

pytestmark = pytest.mark.django_db


def busy_course():
    course, (intro, reading, _lecture, quiz, forum) = make_course()
    keen = enrol(course, "keen")
    slow = enrol(course, "slow")
    for n in range(6):
        add(course, keen, "viewed", day(n), item=intro, seconds=600)
    add(course, keen, "completed", day(1), item=intro)
    add(course, keen, "completed", day(2), item=reading, seconds=300)
    add(course, keen, "posted", day(2), item=forum)
    add(course, keen, "passed", day(3), item=quiz, score=0.9)
    add(course, slow, "viewed", day(0, 23), item=intro, seconds=120)
    add(course, slow, "failed", day(1), item=quiz, score=0.3)
    add(course, slow, "failed", day(1, 11), item=quiz, score=0.4)
    add(course, slow, "errored", day(1, 12))
    return course, keen, slow, quiz


def test_sql_facts_equal_the_reference_built_from_raw_events():
    course, keen, slow, _ = busy_course()
    as_of = day(2).date()
    people = scoring.enrolments(course, as_of)
    loaded = {f.membership_id: f for f in scoring.load_facts(course, as_of, people)}
    rows = rows_of(course)
    for m in (keen, slow):
        expected = facts_from_events(
            membership_id=m.pk,
            person_id=m.person_id,
            enrolled_at=m.enrolled_at,
            events=rows,
            as_of=as_of,
        )
        assert loaded[m.pk] == expected


def test_both_fact_loaders_agree_with_each_other_for_a_subset_too():
    course, _keen, _slow, _ = busy_course()
    as_of = day(3).date()
    people = scoring.enrolments(course, as_of)
    assert scoring.load_facts(course, as_of, people) == scoring.load_facts_orm(
        course, as_of, people
    )
    assert scoring.load_facts(course, as_of, people[1:], subset=True) == scoring.load_facts_orm(
        course, as_of, people[1:], subset=True
    )


def test_scoring_writes_progress_risk_and_fired_signals_with_reasons():
    course, keen, slow, _ = busy_course()
    summary = score_course(course.pk, as_of=day(6).date())
    assert summary.learners == 2
    slow_risk = RiskScore.objects.get(membership=slow)
    assert "failed Module 4 quiz twice" in slow_risk.reasons
    assert slow_risk.signals["failed_twice"] == [2.0, 2.0, True, "failed Module 4 quiz twice"]
    assert all(len(entry) == 3 for entry in slow_risk.signals.values() if not entry[2])
    assert slow_risk.tier == "red"
    assert set(codes_in(slow_risk.fired_signals)) == {
        code for code, entry in slow_risk.signals.items() if entry[2]
    }
    assert "failed_twice" in codes_in(slow_risk.fired_signals)
    keen_progress = Progress.objects.get(membership=keen)
    # Tracked: intro, reading, lecture, quiz (the forum is not content); 3 of 4 done.
    assert (keen_progress.items_done, keen_progress.items_total) == (3, 4)
    assert keen_progress.percent_complete == 75.0
    assert keen_progress.status == "in_progress"
    assert keen_progress.time_on_task_seconds == 3900.0
    assert RiskScore.objects.get(membership=keen).probability > slow_risk.probability


def test_scoring_twice_is_idempotent():
    course, *_ = busy_course()
    as_of = day(6).date()
    score_course(course.pk, as_of=as_of)
    first = list(
        RiskScore.objects.order_by("membership_id").values(
            "tier", "probability", "reasons", "signals", "fired_signals"
        )
    )
    score_course(course.pk, as_of=as_of)
    assert (
        list(
            RiskScore.objects.order_by("membership_id").values(
                "tier", "probability", "reasons", "signals", "fired_signals"
            )
        )
        == first
    )
    assert (RiskScore.objects.count(), Progress.objects.count(), ScoringRun.objects.count()) == (
        2,
        2,
        1,
    )


def test_scoring_pauses_the_cyclic_collector_and_restarts_it_even_on_failure():
    course, *_ = busy_course()
    seen = []

    def database_gone(execute, sql, params, many, context):
        if "completion_progress" in sql and sql.lstrip().startswith("INSERT"):
            seen.append(gc.isenabled())
            raise OperationalError("the database went away")
        return execute(sql, params, many, context)

    assert gc.isenabled()
    with connection.execute_wrapper(database_gone), pytest.raises(OperationalError):
        score_course(course.pk, as_of=day(6).date())
    assert seen == [False]  # paused while writing, not only while computing
    assert gc.isenabled()
    assert not Progress.objects.exists()


def test_events_after_the_as_of_date_do_not_change_it():
    course, _keen, slow, quiz = busy_course()
    as_of = day(4).date()
    score_course(course.pk, as_of=as_of)
    before = list(RiskScore.objects.order_by("membership_id").values("probability", "signals"))
    add(course, slow, "passed", day(5), item=quiz, score=1.0)
    add(course, slow, "viewed", day(4, 0) + timedelta(days=1), seconds=9000)
    score_course(course.pk, as_of=as_of)
    assert (
        list(RiskScore.objects.order_by("membership_id").values("probability", "signals")) == before
    )


def test_change_since_yesterday_is_stored():
    course, _keen, slow, _ = busy_course()
    score_course(course.pk, as_of=day(5).date())
    score_course(course.pk, as_of=day(6).date())
    yesterday = RiskScore.objects.get(membership=slow, as_of=day(5).date())
    today = RiskScore.objects.get(membership=slow, as_of=day(6).date())
    assert today.change == pytest.approx(today.probability - yesterday.probability, abs=1e-4)
    assert yesterday.change is None


def test_course_labels_and_relative_deadline_make_an_overdue_learner_renewal_required():
    course, _keen, slow, _ = busy_course()
    update_criteria(
        course=course,
        values={
            "due_days_after_enrolment": 3,
            "status_labels": {"completed": "Compliant", "overdue": "Renewal Required"},
        },
        by="teacher",
    )
    score_course(course.pk, as_of=day(6).date())
    progress = Progress.objects.get(membership=slow)
    assert (progress.status, progress.status_label) == ("overdue", "Renewal Required")
    assert progress.due_on == START.date() + timedelta(days=3)
    assert AuditEntry.objects.filter(action="completion.criteria_updated").count() == 1


def test_an_override_is_audited_and_wins(django_capture_on_commit_callbacks):
    _course, _keen, slow, _ = busy_course()
    with django_capture_on_commit_callbacks(execute=True):
        override_status(
            membership=slow, status="completed", reason="Completed on paper", by="teacher"
        )
    progress = Progress.objects.get(membership=slow)  # re-scored after commit
    assert (progress.status, progress.status_label) == ("completed", "Completed")
    entry = AuditEntry.objects.get(action="completion.status_overridden")
    assert entry.data["reason"] == "Completed on paper"


def test_a_paused_learner_is_not_flagged_for_absence_or_pace():
    course, _keen, slow, _ = busy_course()
    pause_learner(
        membership=slow, starts_on=day(2).date(), until=day(20).date(), reason="surgery", by="slow"
    )
    score_course(course.pk, as_of=day(10).date())
    signals = RiskScore.objects.get(membership=slow).signals
    for code in ("missed_visits_2", "missed_visits_4", "behind_pace_20", "behind_pace_40"):
        assert signals[code][2] is False


def test_a_course_is_locked_until_the_prerequisite_course_is_completed():
    first, (page,) = make_course(items=(("page", "Only page"),))
    second, _ = make_course(items=(("page", "Next"),), deployment=first.deployment)
    learner = enrol(first, "p")
    enrol(second, "p", person=learner.person)
    update_criteria(course=second, values={"prerequisite_course_ids": [first.pk]}, by="t")
    score_course(second.pk, as_of=day(1).date())
    assert Progress.objects.get(course=second).status == "locked"
    add(first, learner, "completed", day(1), item=page)
    score_course(first.pk, as_of=day(1).date())
    score_course(second.pk, as_of=day(2).date())
    assert Progress.objects.get(course=second, as_of=day(2).date()).status == "not_started"


def test_incremental_rescoring_picks_up_learners_with_new_events_only():
    course, _keen, slow, quiz = busy_course()
    as_of = day(6).date()
    score_course(course.pk, as_of=as_of)
    assert scoring.changed_memberships(course, as_of) == []
    add(course, slow, "passed", day(6, 8), item=quiz, score=0.8)
    assert scoring.changed_memberships(course, as_of) == [slow.pk]
    summary = score_course(course.pk, as_of=as_of, membership_ids=[slow.pk])
    assert (summary.learners, summary.incremental) == (1, True)
    assert "failed_twice" not in RiskScore.objects.get(membership=slow).reasons
    assert not RiskScore.objects.get(membership=slow).signals["failed_twice"][2]
    assert scoring.changed_memberships(course, as_of) == []


def test_new_events_enqueue_one_rescoring_task_per_course(django_capture_on_commit_callbacks):
    from completion.risk.tasks import courses_with_new_events, rescore_changed_courses

    course, _keen, slow, quiz = busy_course()
    other, _ = make_course()
    as_of = day(6).date()
    assert courses_with_new_events(as_of) == [course.pk]  # never scored today
    assert rescore_changed_courses(as_of.isoformat()) == 1  # the sync cluster runs it now
    assert RiskScore.objects.filter(course=course, as_of=as_of).count() == 2
    assert courses_with_new_events(as_of) == []
    add(course, slow, "passed", day(6, 8), item=quiz, score=0.8)
    assert courses_with_new_events(as_of) == [course.pk]
    assert other.pk not in courses_with_new_events(as_of)


@pytest.mark.django_db(transaction=True)
def test_two_workers_scoring_the_same_course_at_once_leave_one_copy():
    import threading

    from django.db import connection, connections

    if connection.vendor != "postgresql":
        pytest.skip("concurrent writers need PostgreSQL")
    course, *_ = busy_course()
    as_of = day(6).date()
    errors = []

    def worker():
        try:
            score_course(course.pk, as_of=as_of)
        except Exception as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert RiskScore.objects.filter(course=course, as_of=as_of).count() == 2
    assert Progress.objects.filter(course=course, as_of=as_of).count() == 2
    assert ScoringRun.objects.filter(course=course, as_of=as_of).count() == 1


def test_a_course_larger_than_a_chunk_is_scored_in_chunks_with_the_same_results(monkeypatch):
    course, _keen, _slow, quiz = busy_course()
    for n in range(5):  # more learners, enrolled on other days
        other = enrol(course, f"other{n}", at=day(n % 3))
        add(course, other, "viewed", day(n % 3 + 1), item=quiz, seconds=60 * n)
    as_of = day(4).date()

    def stored():
        return (
            list(
                RiskScore.objects.order_by("membership_id").values_list(
                    "membership_id", "tier", "probability", "reasons", "signals", "fired_signals"
                )
            ),
            list(
                Progress.objects.order_by("membership_id").values_list(
                    "membership_id", "status", "percent_complete", "expected_percent", "gap"
                )
            ),
            ScoringRun.objects.get(course=course, as_of=as_of).cohort_stats,
        )

    score_course(course.pk, as_of=as_of)
    whole = stored()
    chunked = []
    monkeypatch.setattr(scoring, "score_in_chunks", _spy(scoring.score_in_chunks, chunked))
    monkeypatch.setattr(scoring, "CHUNK", 3)
    for model in (RiskScore, Progress, ScoringRun):
        model.objects.filter(course=course).delete()
    score_course(course.pk, as_of=as_of)
    assert chunked  # 7 learners, chunks of 3
    assert stored() == whole


def _spy(fn, calls):
    def spy(*args, **kwargs):
        calls.append(args)
        return fn(*args, **kwargs)

    return spy


def test_the_postgresql_rows_read_a_batch_at_a_time_equal_the_portable_ones(monkeypatch):
    from django.db import connection

    from completion.data import cutoff_of
    from completion.risk import scoring_pg

    if connection.vendor != "postgresql":
        pytest.skip("the fast path is PostgreSQL's")
    course, *_ = busy_course()
    cutoff = cutoff_of(day(4).date())
    monkeypatch.setattr(scoring_pg, "BATCH", 2)  # every table spans several batches
    fast = scoring_pg.load_rows_pg(course.pk, cutoff)
    portable = scoring.load_rows_orm(course.pk, cutoff)
    assert len(fast.days["person"]) > 2
    assert len(fast.items["person"]) > 2
    for name in fast.days:
        assert fast.days[name].tolist() == pytest.approx(portable.days[name].tolist())
    for name in fast.items:
        assert fast.items[name].tolist() == pytest.approx(
            portable.items[name].tolist(), nan_ok=True
        )
