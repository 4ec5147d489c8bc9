"""Next-course recommendations: what completers took next, else the most-completed courses."""

from __future__ import annotations

import pytest

from interventions.business.recommendations import HISTORY, POPULAR, rank_next, recommend_next
from interventions.business.surveys import send_due_surveys
from interventions.models import OutboundMessage
from tests.business import complete, course_with_page, learner
from tests.completion.riskdata import day
from tests.helpers import session_token

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalogue():
    intro, page = course_with_page(title="Intro")
    dep = intro.deployment
    others = {t: course_with_page(title=t, deployment=dep) for t in ("Next A", "Next B", "Popular")}
    return intro, page, others


def test_ranking_is_pure_and_says_which_basis_was_used():
    titles = {1: "Intro", 2: "B", 3: "C", 4: "D"}
    history = rank_next(
        followed={2: 3, 3: 5}, evidence=6, popular={4: 50}, titles=titles, exclude=frozenset({1})
    )
    assert history.basis == HISTORY
    assert [s.title for s in history.suggestions] == ["C", "B"]
    thin = rank_next(
        followed={2: 1},
        evidence=1,
        popular={4: 50, 1: 80, 3: 9},
        titles=titles,
        exclude=frozenset({1}),
    )
    assert thin.basis == POPULAR
    assert [(s.title, s.learners) for s in thin.suggestions] == [("D", 50), ("C", 9)]
    assert "Too little history" in thin.explanation


def test_with_history_courses_are_ranked_by_what_completers_took_next(catalogue):
    intro, page, others = catalogue
    (a, _), (b, _) = others["Next A"], others["Next B"]
    completers = [learner(intro, f"c{n}") for n in range(3)]
    for m in completers:
        complete(intro, page, m, on=1)
        learner(a, "", person=m.person, at=day(5))
    learner(b, "", person=completers[0].person, at=day(6))
    # Enrolling before completing is not "what they took next".
    early = learner(intro, "early")
    learner(b, "", person=early.person, at=day(0))
    complete(intro, page, early, on=3)

    recs = recommend_next(intro)
    assert recs.basis == HISTORY
    assert recs.evidence == 3
    assert [(s.title, s.learners) for s in recs.suggestions] == [("Next A", 3), ("Next B", 1)]
    assert "3 learners who completed this course" in recs.explanation
    # A learner is not offered what they already take.
    mine = recommend_next(intro, person_id=completers[0].person_id)
    assert [s.title for s in mine.suggestions] == []
    assert recommend_next(intro, person_id=completers[1].person_id).suggestions[0].title == (
        "Next B"
    )


def test_with_thin_history_the_most_completed_courses_are_suggested(catalogue):
    intro, page, others = catalogue
    popular, popular_page = others["Popular"]
    next_a, next_a_page = others["Next A"]
    for n in range(3):
        complete(popular, popular_page, learner(popular, f"p{n}"), on=1)
    complete(next_a, next_a_page, learner(next_a, "a0"), on=1)
    ada = learner(intro, "ada")
    complete(intro, page, ada, on=1)
    learner(next_a, "", person=ada.person, at=day(4))

    recs = recommend_next(intro)
    assert recs.basis == POPULAR
    assert recs.evidence == 1
    assert [(s.title, s.learners) for s in recs.suggestions] == [("Popular", 3), ("Next A", 1)]
    assert recs.as_text() == "Popular next courses: Popular, Next A."
    # The post-completion survey carries the suggestion.
    send_due_surveys(now=day(2))
    message = OutboundMessage.objects.get(membership__person=ada.person, reason="survey:completed")
    assert "Popular next courses: Popular" in message.body_text


@pytest.mark.django_db
def test_a_learner_who_finished_sees_next_course_suggestions_on_their_page():
    from django.test import Client

    from lti_tool.context import LaunchContext
    from tests.completion.riskdata import enrol, make_course

    course, _ = make_course()
    other, _ = make_course(deployment=course.deployment)
    other.title = "Advanced safety"
    other.save()
    ada = enrol(course, "ada")
    lt = session_token(
        LaunchContext(
            deployment_id=course.deployment_id,
            platform_id=course.deployment.platform_id,
            person_id=ada.person_id,
            course_id=course.pk,
            membership_id=ada.pk,
            role="learner",
        )
    )
    body = Client().get("/business/next/", {}, HTTP_X_FINISHLINE_LAUNCH=lt).content.decode()
    assert "What to take next" in body
