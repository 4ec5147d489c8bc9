from __future__ import annotations

from datetime import date

from completion.progress import criteria as crit
from completion.progress.criteria import Achievement, Criteria

AS_OF = date(2026, 3, 2)


def evaluate(criteria, achievement, **kwargs):
    kwargs.setdefault("as_of", AS_OF)
    kwargs.setdefault("due_on", None)
    return crit.evaluate(criteria, achievement, **kwargs)


def test_required_items_must_all_be_done():
    criteria = Criteria(
        tracked_items=frozenset({1, 2, 3, 4}),
        required_items=frozenset({1, 2, 3, 4}),
        min_content_share=0,
    )
    partial = evaluate(
        criteria, Achievement(done_items=frozenset({1, 2, 3}), started=True), titles={4: "Module 4"}
    )
    assert (partial.status, partial.met, partial.percent_complete) == ("in_progress", False, 75.0)
    assert partial.unmet == ("not yet done: Module 4",)
    full = evaluate(criteria, Achievement(done_items=frozenset({1, 2, 3, 4}), started=True))
    assert (full.status, full.label, full.met, full.percent_complete) == (
        "completed",
        "Completed",
        True,
        100.0,
    )


def test_content_share_of_80_percent_is_met_at_exactly_80():
    criteria = Criteria(tracked_items=frozenset({1}), content_items=frozenset({1, 2, 3, 4, 5}))
    done = frozenset({1})
    four = evaluate(
        criteria, Achievement(done_items=done, consumed_items=frozenset({1, 2, 3, 4}), started=True)
    )
    three = evaluate(
        criteria, Achievement(done_items=done, consumed_items=frozenset({1, 2, 3}), started=True)
    )
    assert four.met
    assert not three.met
    assert three.unmet == ("60% of content consumed; 80% required",)


def test_minimum_score_per_item_and_overall():
    criteria = Criteria(
        tracked_items=frozenset({1}),
        min_content_share=0,
        min_item_scores={1: 0.7},
        min_overall_score=0.75,
    )
    below = evaluate(
        criteria,
        Achievement(done_items=frozenset({1}), best_scores={1: 0.69}, started=True),
        titles={1: "Quiz"},
    )
    assert below.unmet == ("Quiz: best 69%; 70% required", "overall score 69%; 75% required")
    at = evaluate(
        criteria, Achievement(done_items=frozenset({1}), best_scores={1: 0.75}, started=True)
    )
    assert at.met
    assert at.score == 0.75


def test_required_submissions_and_minimum_time():
    criteria = Criteria(
        tracked_items=frozenset({1}),
        min_content_share=0,
        required_submissions=frozenset({9}),
        min_time_seconds=3600,
    )
    result = evaluate(
        criteria,
        Achievement(done_items=frozenset({1}), time_seconds=3599, started=True),
        titles={9: "Essay"},
    )
    assert result.unmet == ("Essay: not submitted", "60 of 60 minutes on task")
    ok = evaluate(
        criteria,
        Achievement(
            done_items=frozenset({1}),
            submitted_items=frozenset({9}),
            time_seconds=3600,
            started=True,
        ),
    )
    assert ok.met


def test_course_labels_replace_the_defaults():
    labels = {**crit.DEFAULT_LABELS, "completed": "Compliant", "overdue": "Renewal Required"}
    criteria = Criteria(tracked_items=frozenset({1, 2}), min_content_share=0, labels=labels)
    late = evaluate(
        criteria, Achievement(done_items=frozenset({1}), started=True), due_on=date(2026, 3, 1)
    )
    assert (late.status, late.label) == ("overdue", "Renewal Required")
    done = evaluate(
        criteria, Achievement(done_items=frozenset({1, 2}), started=True), due_on=date(2026, 3, 1)
    )
    assert (done.status, done.label) == ("completed", "Compliant")


def test_overdue_only_after_the_due_day_has_passed():
    criteria = Criteria(tracked_items=frozenset({1, 2}), min_content_share=0)
    on_the_day = evaluate(
        criteria, Achievement(done_items=frozenset({1}), started=True), due_on=AS_OF
    )
    assert on_the_day.status == "in_progress"


def test_not_started_and_override():
    criteria = Criteria(tracked_items=frozenset({1}), min_content_share=0)
    assert evaluate(criteria, Achievement()).status == "not_started"
    overridden = evaluate(criteria, Achievement(), override="completed")
    assert (overridden.status, overridden.label, overridden.overridden) == (
        "completed",
        "Completed",
        True,
    )


def test_a_course_is_locked_until_its_prerequisite_courses_are_completed():
    criteria = Criteria(
        tracked_items=frozenset({1}), min_content_share=0, prerequisite_courses=frozenset({77})
    )
    locked = evaluate(criteria, Achievement(done_items=frozenset({1}), started=True))
    assert (locked.status, locked.met) == ("locked", False)
    open_ = evaluate(
        criteria,
        Achievement(done_items=frozenset({1}), started=True, completed_courses=frozenset({77})),
    )
    assert open_.status == "completed"


def test_items_are_locked_until_their_prerequisites_are_done():
    criteria = Criteria(
        tracked_items=frozenset({1, 2, 3}),
        item_prerequisites={2: frozenset({1}), 3: frozenset({1, 2})},
    )
    assert evaluate(criteria, Achievement()).locked_items == frozenset({2, 3})
    assert evaluate(criteria, Achievement(done_items=frozenset({1}))).locked_items == frozenset({3})
