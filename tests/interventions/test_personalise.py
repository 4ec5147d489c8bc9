"""'You are 15 minutes from finishing Module 4': where a learner stopped, and what is left."""

from __future__ import annotations

from interventions.planning.personalise import CourseItem, ItemRow, next_steps

T = "2026-03-01 00:00:00+00"  # as the planner loads it: UTC text, sortable
LATER = "2026-03-01 00:00:00.5+00"
ITEMS = [
    CourseItem(1, "Module 1", ""),
    CourseItem(2, "Module 2", "https://lms.example/m2"),
    CourseItem(3, "Module 3", ""),
]


def peers_finished(item_id, minutes, n=3):
    return [ItemRow(100 + k, item_id, minutes * 60, True, T) for k in range(n)]


def test_the_last_unfinished_item_and_the_minutes_left_against_peers():
    rows = [
        *peers_finished(2, 40),
        ItemRow(1, 1, 600, True, T),
        ItemRow(1, 2, 25 * 60, False, LATER),
    ]
    step = next_steps(rows, ITEMS)[1]
    assert step.title == "Module 2"
    assert step.url == "https://lms.example/m2"
    assert step.item_minutes == 40
    assert step.minutes_left == 15


def test_a_learner_with_everything_started_finished_is_pointed_at_the_next_new_item():
    rows = [*peers_finished(2, 30), ItemRow(1, 1, 600, True, T)]
    step = next_steps(rows, ITEMS)[1]
    assert step.title == "Module 2"
    assert step.minutes_left is None  # not started: no "minutes left", only the usual time
    assert step.item_minutes == 30


def test_too_few_peers_gives_no_time_and_a_finished_course_no_step():
    rows = [*peers_finished(2, 30, n=2), ItemRow(1, 2, 60, False, T)]
    assert next_steps(rows, ITEMS)[1].item_minutes is None
    done = [ItemRow(5, i.item_id, 60, True, T) for i in ITEMS]
    assert 5 not in next_steps(done, ITEMS)
