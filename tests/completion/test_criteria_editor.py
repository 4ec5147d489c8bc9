"""The criteria editor page: who may open and save it, the item picker and its search, pass
marks and due dates per item, prerequisite pairs (a circle refused in words, the path drawn),
the audit entry and re-scoring a save makes, and the learner's locked item that follows."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from completion.models import CompletionCriteria, Item
from completion.risk.services import InvalidCriteria, update_criteria
from lti_tool.models import AuditEntry, Course
from tests.platform.launcher import launch, launch_token

URL = "/course/criteria/"


@pytest.fixture
def course(platform, django_capture_on_commit_callbacks):
    client = Client()
    with django_capture_on_commit_callbacks(execute=True):
        tokens = {
            role: launch_token(launch(client, platform, sub=f"{role}-1", role=role))
            for role in ("Instructor", "TeachingAssistant", "Learner")
        }
        other = launch_token(
            launch(client, platform, sub="teacher-2", role="Instructor", context_id="course-2")
        )
    course = Course.objects.get(context_id="course-1")
    items = {
        title: Item.objects.create(
            course=course, external_id=title, kind=kind, title=title, source="api",
            section=section, position=n,
        )
        for n, (kind, title, section) in enumerate([
            ("page", "Welcome page", "Module 1"),
            ("video", "Ladder safety video", "Module 1"),
            ("assessment", "Ladder quiz", "Module 2"),
            ("assessment", "Final exam", "Module 3"),
        ])
    }  # fmt: skip
    foreign = Item.objects.create(
        course=Course.objects.get(context_id="course-2"),
        external_id="x",
        kind="assessment",
        title="Other course quiz",
        source="api",
    )
    return {"client": client, "tokens": tokens, "other": other, "course": course,
            "items": items, "foreign": foreign}  # fmt: skip


def form_data(c, **extra):
    """What the page posts when nothing is changed, plus `extra`."""
    data = {
        "min_content_share": "80",
        "min_time_minutes": "0",
        "timeline": "relative",
        "duration_days": "20",
        "skip_weekends": "on",
        "risk_model": "rules",
        "pair_rows": "2",
    }
    data.update(extra)
    return data


def post(c, data, role="Instructor", token=None):
    return c["client"].post(URL, data, HTTP_X_FINISHLINE_LAUNCH=token or c["tokens"][role])


def get(c, query="", role="Instructor"):
    return c["client"].get(URL + query, HTTP_X_FINISHLINE_LAUNCH=c["tokens"][role])


def test_learners_get_403_and_assistants_may_read_but_not_save(course):
    assert get(course, role="Learner").status_code == 403
    assert post(course, form_data(course), role="Learner").status_code == 403
    page = get(course, role="TeachingAssistant")
    assert page.status_code == 200
    text = page.content.decode()
    assert "Only instructors and administrators can change these" in text
    assert re.search(r'<input type="number" name="min_content_share"[^>]* disabled', text)
    assert "Save criteria" not in text
    assert post(course, form_data(course), role="TeachingAssistant").status_code == 403
    assert not CompletionCriteria.objects.filter(course=course["course"]).exists()


def test_the_picker_lists_items_with_type_and_section_and_the_search_filters(course):
    page = get(course).content.decode()
    for title in course["items"]:
        assert title in page
    assert "Other course quiz" not in page
    assert "Module 2" in page
    assert "Assessment" in page
    found = get(course, "?q=ladder quiz").content.decode()
    # Every row stays in the form (their settings are kept); rows not matching are hidden.
    # (The fifth item is the launch's own link, "Finishline".)
    assert found.count("<tr data-search=") == 5
    assert found.count(" hidden>") == 4
    assert 'data-search="ladder quiz assessment module 2">' in found


def test_an_instructor_saves_required_items_pass_marks_dates_and_prerequisites(
    course, django_capture_on_commit_callbacks
):
    quiz, exam, video = (course["items"][t] for t in ("Ladder quiz", "Final exam",
                                                      "Ladder safety video"))  # fmt: skip
    data = form_data(
        course,
        **{
            f"required_{quiz.pk}": "on",
            f"required_{exam.pk}": "on",
            f"pass_mark_{quiz.pk}": "70",
            f"due_{exam.pk}": "2026-03-10",
            "pair_0_item": str(quiz.pk),
            "pair_0_needs": str(video.pk),
            "pair_1_item": str(exam.pk),
            "pair_1_needs": str(quiz.pk),
            "min_overall_score": "60",
        },
    )
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = post(course, data)
    assert response.status_code == 302
    assert response["Location"] == URL + "?done=criteria"
    assert len(callbacks) == 1  # the course is re-scored after commit
    row = CompletionCriteria.objects.get(course=course["course"])
    assert row.required_item_ids == [quiz.pk, exam.pk]
    assert row.min_item_scores == {str(quiz.pk): 0.7}
    assert row.item_due_dates == {str(exam.pk): "2026-03-10"}
    assert row.item_prerequisites == {str(quiz.pk): [video.pk], str(exam.pk): [quiz.pk]}
    assert row.min_overall_score == 0.6
    audit = AuditEntry.objects.get(action="completion.criteria_updated")
    assert audit.data["changed"]["min_item_scores"] == [{}, {str(quiz.pk): 0.7}]
    page = get(course, "?done=criteria").content.decode()
    assert "Completion criteria saved. Re-scoring every learner has started" in page
    assert "<svg" in page
    assert 'role="img"' in page
    assert "<strong>Step 3</strong>: Final exam" in page
    assert 'Ladder quiz <span class="muted">(requires Ladder safety video)</span>' in page
    assert 'value="70"' in page  # the saved pass mark is shown again


def test_a_circle_is_refused_in_words_and_nothing_is_saved(course):
    quiz, exam = course["items"]["Ladder quiz"], course["items"]["Final exam"]
    data = form_data(course, **{
        "pair_0_item": str(quiz.pk), "pair_0_needs": str(exam.pk),
        "pair_1_item": str(exam.pk), "pair_1_needs": str(quiz.pk),
    })  # fmt: skip
    response = post(course, data)
    assert response.status_code == 400
    text = response.content.decode()
    assert "go round in a circle" in text
    assert "“Ladder quiz” requires “Final exam”, “Final exam” requires “Ladder quiz”" in text
    assert 'id="prerequisite-problem"' in text
    assert not CompletionCriteria.objects.filter(course=course["course"]).exists()


def test_pass_marks_out_of_range_are_shown_next_to_the_item(course):
    quiz = course["items"]["Ladder quiz"]
    response = post(course, form_data(course, **{f"pass_mark_{quiz.pk}": "140"}))
    assert response.status_code == 400
    text = response.content.decode()
    assert "The pass mark of “Ladder quiz” must be between 0% and 100%." in text
    assert f'id="id_pass_mark_{quiz.pk}"' in text
    assert 'aria-invalid="true"' in text


def test_another_courses_items_are_refused(course):
    foreign, quiz = course["foreign"], course["items"]["Ladder quiz"]
    data = form_data(course, **{
        f"required_{foreign.pk}": "on",  # not a field of this course's form: ignored
        "pair_0_item": str(quiz.pk), "pair_0_needs": str(foreign.pk),
    })  # fmt: skip
    response = post(course, data)
    assert response.status_code == 400
    assert "Choose an item of this course." in response.content.decode()
    assert not CompletionCriteria.objects.filter(course=course["course"]).exists()
    # The instructor of the other course cannot reach this course's criteria either: their
    # launch opens their own course's page, which does not list this course's items.
    theirs = course["client"].get(URL, HTTP_X_FINISHLINE_LAUNCH=course["other"]).content.decode()
    assert "Other course quiz" in theirs
    assert "Ladder quiz" not in theirs
    # And the service refuses them, whoever calls it.
    with pytest.raises(InvalidCriteria) as refused:
        update_criteria(
            course=course["course"],
            values={"item_prerequisites": {str(quiz.pk): [foreign.pk]}},
            by="test",
        )
    assert refused.value.problems[0].item == foreign.pk


def test_a_threshold_is_set_in_its_own_field_in_the_units_shown_and_blank_keeps_the_default(
    course,
):
    page = get(course).content.decode()
    assert "Warning signals" in page
    assert "A fifth of the course behind schedule" in page  # the signal in words
    assert "% of the course" in page
    assert 'placeholder="20"' in page  # the default, in the unit shown
    data = form_data(course, threshold_behind_pace_20="25", threshold_score_below_cohort="2",
                     threshold_not_started_48h="")  # fmt: skip
    assert post(course, data).status_code == 302
    row = CompletionCriteria.objects.get(course=course["course"])
    # Stored as scoring reads it: a share and a z-score; the blank field is not stored.
    assert row.rule_settings == {"thresholds": {"behind_pace_20": 0.25, "score_below_cohort": -2.0}}
    again = get(course).content.decode()
    assert re.search(r'name="threshold_behind_pace_20"[^>]* value="25"', again)
    assert re.search(r'name="threshold_score_below_cohort"[^>]* value="2"', again)
    # Clearing the field goes back to the default.
    assert post(course, form_data(course)).status_code == 302
    row.refresh_from_db()
    assert row.rule_settings == {}


def test_a_threshold_out_of_range_is_refused_next_to_its_field(course):
    data = form_data(course, threshold_behind_pace_20="150", threshold_missed_visits_4="1")
    response = post(course, data)
    assert response.status_code == 400
    text = response.content.decode()
    assert re.search(
        r'id="id_threshold_behind_pace_20_error">Choose a value between 1% and 100% of the '
        r"course\.</strong>",
        text,
    )
    assert 'id="id_threshold_missed_visits_4_error">This stronger warning' in text
    assert not CompletionCriteria.objects.filter(
        course=course["course"], rule_settings__has_key="thresholds"
    ).exists()
    # Thresholds typed into the specialists' box are sent to their fields.
    boxed = post(course, form_data(course, rule_settings='{"thresholds": {"behind_pace_20": 0.3}}'))
    assert "Set thresholds in their own fields" in boxed.content.decode()


def test_count_and_day_thresholds_take_whole_numbers_only(course):
    for field in ("threshold_missed_visits_2", "threshold_failed_twice", "threshold_many_attempts",
                  "threshold_no_forum_day_7", "threshold_technical_errors"):  # fmt: skip
        response = post(course, form_data(course, **{field: "2.5"}))
        assert response.status_code == 400, field
        assert f'id="id_{field}_error">Enter a whole number.' in response.content.decode()
    assert post(course, form_data(course, threshold_many_attempts="4")).status_code == 302
    row = CompletionCriteria.objects.get(course=course["course"])
    assert row.rule_settings == {"thresholds": {"many_attempts": 4}}
    # A fraction stored by another way in (the API) is refused by the same rules.
    with pytest.raises(InvalidCriteria, match="Choose a whole number between 1 and 30 visits"):
        update_criteria(
            course=course["course"], by="test",
            values={"rule_settings": {"thresholds": {"missed_visits_2": 2.5}}},
        )  # fmt: skip


def test_saving_the_form_keeps_a_saved_threshold_it_has_no_field_for(course, monkeypatch):
    from completion.instructor import threshold_fields

    # A signal whose threshold was set through the API but which the form does not offer.
    shown = {k: v for k, v in threshold_fields.THRESHOLDS.items() if k != "low_activity_so_far"}
    monkeypatch.setattr(threshold_fields, "THRESHOLDS", shown)
    CompletionCriteria.objects.update_or_create(
        course=course["course"],
        defaults={"rule_settings": {"thresholds": {"low_activity_so_far": 10, "failed_twice": 3}}},
    )
    data = form_data(course, threshold_behind_pace_20="25")
    assert post(course, data).status_code == 302
    row = CompletionCriteria.objects.get(course=course["course"])
    assert row.rule_settings["thresholds"] == {"low_activity_so_far": 10, "behind_pace_20": 0.25}
