"""Next-course recommendations: what learners who completed a course took next.

Ranks the deployment's other courses by how many completers of this course enrolled in them on
or after the day they completed it (launches, NRPS and imported records). With too little
history, falls back to the deployment's most-completed courses and says so. `rank_next` is
pure; `recommend_next` reads. Used on the learner page and in post-completion messages.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

from django.db.models import Count

from completion.models import Progress
from interventions.business.selectors import completion_dates, enrolments_of
from lti_tool.models import Course, Membership, Role

HISTORY = "history"
POPULAR = "popular"
# Fewer completers who went on to another course than this is "thin history".
MIN_HISTORY = 3


@dataclass(frozen=True)
class Suggestion:
    course_id: int
    title: str
    # Completers of this course who took it next (history), or its completers (popular).
    learners: int


@dataclass(frozen=True)
class Recommendations:
    basis: str
    suggestions: tuple[Suggestion, ...]
    # Completers of the course who went on to another course of the deployment.
    evidence: int

    @property
    def explanation(self) -> str:
        if self.basis == HISTORY:
            return f"Based on what {self.evidence} learners who completed this course took next."
        went = "1 completer went" if self.evidence == 1 else f"{self.evidence} completers went"
        return (
            f"Too little history ({went} on to another course); "
            "showing the most-completed courses instead."
        )

    def as_text(self) -> str:
        """A line for a post-completion message; empty when there is nothing to suggest."""
        if not self.suggestions:
            return ""
        names = ", ".join(s.title for s in self.suggestions)
        if self.basis == HISTORY:
            return f"Learners who finished this course often go on to: {names}."
        return f"Popular next courses: {names}."


def rank_next(
    *,
    followed: Mapping[int, int],
    evidence: int,
    popular: Mapping[int, int],
    titles: Mapping[int, str],
    exclude: frozenset[int],
    limit: int = 3,
    min_history: int = MIN_HISTORY,
) -> Recommendations:
    """Pure: the history ranking when `evidence` is enough, else the popularity ranking."""
    basis = HISTORY if evidence >= min_history else POPULAR
    counts = followed if basis == HISTORY else popular
    ranked = sorted(
        (c for c, n in counts.items() if n > 0 and c in titles and c not in exclude),
        key=lambda c: (-counts[c], titles[c], c),
    )
    suggestions = tuple(Suggestion(c, titles[c], counts[c]) for c in ranked[:limit])
    return Recommendations(basis, suggestions, evidence)


def recommend_next(
    course: Course, *, person_id: int | None = None, limit: int = 3
) -> Recommendations:
    """The courses to suggest after `course` (leaving out those `person_id` already has)."""
    deployment_id = course.deployment_id
    completers = dict(
        Membership.objects.filter(course=course, role=Role.LEARNER).values_list("pk", "person_id")
    )
    finished = {
        completers[m]: day for m, day in completion_dates([course.pk]).items() if m in completers
    }
    followed: Counter[int] = Counter()
    went_on = 0
    for person, courses in enrolments_of(deployment_id, list(finished)).items():
        after = {c for c, (on, _) in courses.items() if c != course.pk and on >= finished[person]}
        followed.update(after)
        went_on += bool(after)
    titles = dict(
        Course.objects.filter(deployment_id=deployment_id, retired_at__isnull=True).values_list(
            "pk", "title"
        )
    )
    exclude = {course.pk}
    if person_id is not None:
        exclude |= set(enrolments_of(deployment_id, [person_id]).get(person_id, {}))
    return rank_next(
        followed=followed,
        evidence=went_on,
        popular=most_completed(deployment_id) if went_on < MIN_HISTORY else {},
        titles={c: t or f"Course {c}" for c, t in titles.items()},
        exclude=frozenset(exclude),
        limit=limit,
    )


def most_completed(deployment_id: int) -> dict[int, int]:
    """Learners who met each course's criteria, per course of the deployment."""
    return dict(
        Progress.objects.filter(course__deployment_id=deployment_id, criteria_met=True)
        .values("course_id")
        .annotate(n=Count("membership_id", distinct=True))
        .values_list("course_id", "n")
    )
