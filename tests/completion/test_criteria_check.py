"""The one place criteria are judged (`progress.criteria_check`): unknown items, pass marks out
of range, prerequisites that go round in a circle; and the path the prerequisites draw."""

from __future__ import annotations

from datetime import date

from completion.instructor.path_drawing import draw
from completion.progress.criteria_check import (
    THRESHOLD_LIMITS,
    Catalogue,
    Draft,
    find_cycle,
    path_of,
    problems,
)
from completion.risk import signals

COURSE = Catalogue(
    course_id=1,
    titles={10: "Intro", 11: "Reading", 12: "Quiz", 13: "Exam"},
    courses={2: "Safety 100"},
)


def fields(draft: Draft) -> list[tuple[str, int | None]]:
    return [(p.field, p.item) for p in problems(draft, COURSE)]


def test_sound_criteria_have_no_problems():
    draft = Draft(
        required_items=(10, 12),
        min_item_scores={12: 0.7},
        item_due_dates={12: date(2026, 3, 1)},
        item_prerequisites={12: (10, 11), 13: (12,)},
        prerequisite_courses=(2,),
    )
    assert problems(draft, COURSE) == ()


def test_items_of_another_course_are_refused_by_name():
    draft = Draft(
        required_items=(10, 99), min_item_scores={98: 0.5}, item_prerequisites={12: (97,)}
    )
    found = problems(draft, COURSE)
    assert [(p.field, p.item) for p in found] == [
        ("required_item_ids", 99),
        ("min_item_scores", 98),
        ("item_prerequisites", 97),
    ]
    assert found[0].message == "Item 99 is not an item of this course, so it cannot be required."


def test_pass_marks_and_shares_outside_0_to_100_percent_are_refused():
    found = problems(
        Draft(min_item_scores={12: 1.2, 13: -0.1, 11: 1.0}, min_content_share=1.5), COURSE
    )
    assert [(p.field, p.item) for p in found] == [
        ("min_item_scores", 12),
        ("min_item_scores", 13),
        ("min_content_share", None),
    ]
    assert found[0].message == "The pass mark of “Quiz” must be between 0% and 100%."
    assert fields(Draft(min_overall_score=-0.01)) == [("min_overall_score", None)]


def test_a_circle_of_prerequisites_is_refused_naming_each_pair():
    draft = Draft(item_prerequisites={10: (12,), 12: (11,), 11: (10,), 13: (12,)})
    (found,) = problems(draft, COURSE)
    assert found.field == "item_prerequisites"
    assert "go round in a circle" in found.message
    assert "“Intro” requires “Quiz”, “Quiz” requires “Reading”, “Reading” requires “Intro”" in (
        found.message
    )
    assert "Remove one of these pairs" in found.message


def test_an_item_cannot_require_itself_nor_a_course_itself():
    assert [p.message for p in problems(Draft(item_prerequisites={12: (12,)}), COURSE)] == [
        "“Quiz” cannot require itself."
    ]
    assert fields(Draft(prerequisite_courses=(1, 5))) == [
        ("prerequisite_course_ids", None),
        ("prerequisite_course_ids", None),
    ]


def test_dates_and_reminders_in_order():
    assert fields(Draft(starts_on=date(2026, 3, 2), ends_on=date(2026, 3, 1))) == [
        ("ends_on", None)
    ]
    assert fields(Draft(fixed_timeline=True)) == [("starts_on", None)]
    assert fields(Draft(reminder_days=(400, 3))) == [("reminder_days", None)]


def test_find_cycle_returns_the_circle_in_order():
    assert find_cycle({1: (2,), 2: (3,), 3: ()}) == ()
    assert find_cycle({1: (2,), 2: (3,), 3: (1,)}) == (1, 2, 3)
    assert find_cycle({5: (5,)}) == (5,)


def test_the_path_puts_each_item_one_step_after_what_it_requires():
    steps = path_of({12: (10, 11), 13: (12,), 11: (10,)}, order=[10, 11, 12, 13])
    assert [s.items for s in steps] == [(10,), (11,), (12,), (13,)]
    assert steps[2].needs == {12: (10, 11)}
    parallel = path_of({13: (10, 11)}, order=[11, 10, 13])
    assert [s.items for s in parallel] == [(11, 10), (13,)]
    assert path_of({10: (11,), 11: (10,)}, order=[10, 11]) == ()


def test_the_drawing_has_a_box_per_item_and_an_arrow_per_pair():
    steps = path_of({12: (10, 11), 13: (12,)}, order=[10, 11, 12, 13])
    drawing = draw(steps, COURSE.titles, courses=["Safety 100"])
    assert drawing is not None
    assert [b.title for b in drawing.boxes] == [
        "Course: Safety 100",
        "Intro",
        "Reading",
        "Quiz",
        "Exam",
    ]
    assert len(drawing.arrows) == 3 + 2  # the pairs, then the course to each first-step item
    assert [label for _, label in drawing.rows] == ["First", "Step 1", "Step 2", "Step 3"]
    assert all(a.y2 > a.y1 for a in drawing.arrows)  # every arrow points down the path
    assert draw((), {}) is None


def test_every_signal_has_a_threshold_range_and_the_defaults_are_inside_it():
    assert set(THRESHOLD_LIMITS) == set(signals.CODES)
    assert problems(Draft(thresholds=signals.DEFAULTS), COURSE) == ()


def test_thresholds_out_of_range_or_a_stronger_warning_below_the_weaker_are_refused():
    draft = Draft(
        thresholds={**signals.DEFAULTS, "behind_pace_20": 1.5, "missed_visits_4": 2.0,
                    "not_started_48h": 0.0, "no_such_signal": -9.0}
    )  # fmt: skip
    found = {p.field: p.message for p in problems(draft, COURSE)}
    assert found == {
        "threshold_behind_pace_20": "Choose a value between 1% and 100% of the course.",
        "threshold_not_started_48h": "Choose a value between 1 and 1440 hours.",
        "threshold_missed_visits_4": "This stronger warning must ask for more than the one "
        "before it.",
    }
