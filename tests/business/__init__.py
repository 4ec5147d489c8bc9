"""Business outcomes tests: shared set-up (real events, real scoring, real launch tokens)."""

from __future__ import annotations

from completion.models import CompletionCriteria
from completion.risk.scoring import score_course
from tests.completion.riskdata import START, add, day, enrol, make_course
from tests.helpers import token_for


def course_with_page(*, title="Course", deployment=None, due_on=None):
    course, (page,) = make_course(items=(("page", "The only page"),), deployment=deployment)
    course.title = title
    course.save()
    CompletionCriteria.objects.get_or_create(course=course, defaults={"due_on": due_on})
    return course, page


def learner(course, sub, *, person=None, at=START, email=True):
    membership = enrol(course, sub, person=person, at=at)
    if email and not membership.person.email:
        membership.person.email = f"{sub}@example.edu"
        membership.person.save()
    return membership


def complete(course, page, membership, *, on=1):
    """The learner finishes the page and the course is scored that day."""
    add(course, membership, "completed", day(on), item=page)
    score_course(course.pk, as_of=day(on).date())


def token(course, membership, role):
    return token_for(membership, role, course_id=course.pk)
