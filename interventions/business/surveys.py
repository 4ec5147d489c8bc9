"""Satisfaction surveys: one 0-10 question and a comment, at completion and at confirmed
non-completion (withdrawn from the roster, or the deadline passed unmet).

Owns who is due a survey, sending it once through the outbox (one invitation row and one
idempotency key per membership and moment), the signed link, and recording the single answer
(a unique response row). Results are read by `selectors.survey_results`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core import signing
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Subquery
from django.urls import reverse
from django.utils import timezone

from completion.models import Progress
from interventions.business.recommendations import recommend_next
from interventions.delivery import messages
from interventions.delivery.outbox import enqueue_message
from interventions.models import (
    Channel,
    MessageTemplate,
    SurveyInvitation,
    SurveyResponse,
)
from lti_tool.models import Membership, Role

SURVEY_SALT = "finishline.survey"
LINK_MAX_AGE = timedelta(days=90)
# Moments older than this are not surveyed, so switching surveys on does not write to every
# learner who ever finished or left.
WINDOW = timedelta(days=30)
Moment = SurveyInvitation.Moment

QUESTION = "How likely are you to recommend {{ course }} to a friend or colleague?"
TEXTS: dict[str, messages.MessageText] = {
    Moment.COMPLETED: messages.MessageText(
        "Congratulations! How was {{ course }}?",
        "Hi {{ first_name }},\n\nCongratulations on completing {{ course }}. "
        + QUESTION
        + " It takes one minute: {{ link }}\n"
        + "{% if next_courses %}\n{{ next_courses }}\n{% endif %}",
    ),
    Moment.NOT_COMPLETED: messages.MessageText(
        "How was {{ course }}?",
        "Hi {{ first_name }},\n\n{{ course }} did not work out this time, and we would like to "
        "learn from it. " + QUESTION + " A comment on what got in the way helps most: "
        "{{ link }}\n",
    ),
}


class SurveyLinkInvalid(Exception):
    """The link was damaged, forged or is too old."""


class SurveyAlreadyAnswered(Exception):
    """The link was used already: each survey takes one answer."""


@dataclass(frozen=True)
class DueSurvey:
    membership_id: int
    moment: str
    cause: str


def survey_token(invitation_id: int) -> str:
    return signing.dumps({"i": invitation_id}, salt=SURVEY_SALT)


def survey_url(invitation_id: int) -> str:
    return settings.TOOL_BASE_URL + reverse("business:survey", args=[survey_token(invitation_id)])


def invitation_for(token: str) -> SurveyInvitation:
    """The invitation a link names; SurveyLinkInvalid for a tampered, forged or old link."""
    try:
        data = signing.loads(token, salt=SURVEY_SALT, max_age=LINK_MAX_AGE)
        invitation_id = int(data["i"])
    except signing.SignatureExpired as exc:
        raise SurveyLinkInvalid("This survey link has expired.") from exc
    except (signing.BadSignature, KeyError, TypeError, ValueError) as exc:
        raise SurveyLinkInvalid("This survey link is not valid.") from exc
    invitation = SurveyInvitation.objects.select_related("course").filter(pk=invitation_id).first()
    if invitation is None:
        raise SurveyLinkInvalid("This survey is no longer available.")
    return invitation


def is_answered(invitation: SurveyInvitation) -> bool:
    return SurveyResponse.objects.filter(invitation=invitation).exists()


def answer_survey(
    *, invitation: SurveyInvitation, score: int, comment: str = "", now: datetime | None = None
) -> SurveyResponse:
    """Record the one answer of an invitation; a second answer raises SurveyAlreadyAnswered."""
    if not 0 <= score <= 10:
        raise ValueError("Choose a score from 0 to 10.")
    try:
        with transaction.atomic():
            return SurveyResponse.objects.create(
                invitation=invitation,
                score=score,
                comment=comment.strip()[:5000],
                answered_at=now or timezone.now(),
            )
    except IntegrityError as exc:
        raise SurveyAlreadyAnswered("This survey has been answered already. Thank you!") from exc


# --- who is due, and sending -------------------------------------------------------------------


def due_surveys(*, now: datetime) -> list[DueSurvey]:
    """Learners whose completion or confirmed non-completion came within the window."""
    today, since = now.date(), now - WINDOW
    met = Progress.objects.filter(membership=OuterRef("pk"), criteria_met=True)
    met_before = Exists(met.filter(as_of__lt=since.date()))
    invited = SurveyInvitation.objects.filter(membership=OuterRef("pk"))
    learners = (
        Membership.objects.filter(role=Role.LEARNER, course__retired_at__isnull=True)
        .exclude(person__email="")
        .exclude(person__contact__email_opt_out=True)
    )
    due = [
        DueSurvey(pk, Moment.COMPLETED, "criteria met")
        for pk in learners.filter(Exists(met.filter(as_of__gte=since.date())), ~met_before)
        .exclude(Exists(invited.filter(moment=Moment.COMPLETED)))
        .values_list("pk", flat=True)
    ]
    open_learners = learners.exclude(Exists(met)).exclude(Exists(invited))
    for pk, status in open_learners.filter(
        status__in=[Membership.Status.INACTIVE, Membership.Status.DELETED],
        status_changed_at__gte=since,
    ).values_list("pk", "status"):
        due.append(DueSurvey(pk, Moment.NOT_COMPLETED, f"withdrawn ({status})"))
    latest_due = Progress.objects.filter(membership=OuterRef("pk")).order_by("-as_of")
    for pk in (
        open_learners.filter(status=Membership.Status.ACTIVE)
        .annotate(due=Subquery(latest_due.values("due_on")[:1]))
        .filter(due__lt=today, due__gte=since.date())
        .values_list("pk", flat=True)
    ):
        due.append(DueSurvey(pk, Moment.NOT_COMPLETED, "deadline passed"))
    return due


def send_due_surveys(*, now: datetime | None = None) -> int:
    """Invite everyone due a survey, once per membership and moment; returns how many."""
    now = now or timezone.now()
    return sum(invite(due, now=now) is not None for due in due_surveys(now=now))


@transaction.atomic
def invite(due: DueSurvey, *, now: datetime) -> SurveyInvitation | None:
    """Record the invitation and queue its email in one transaction; None if already sent."""
    membership = Membership.objects.select_related("person", "course__deployment").get(
        pk=due.membership_id
    )
    invitation, created = SurveyInvitation.objects.get_or_create(
        membership=membership,
        moment=due.moment,
        defaults={"course": membership.course, "cause": due.cause, "sent_at": now},
    )
    if not created:
        return None
    text = _text(membership, due.moment, survey_url(invitation.pk))
    invitation.message = enqueue_message(
        idempotency_key=f"survey:{membership.pk}:{due.moment}",
        deployment=membership.course.deployment,
        channel=Channel.EMAIL,
        to_address=membership.person.email,
        subject=text.subject,
        body_text=text.body,
        body_html=messages.as_html(text.body),
        course=membership.course,
        membership=membership,
        reason=f"survey:{due.moment}",
        decided_by="email allowed (not opted out); one survey per moment",
    )
    invitation.save(update_fields=["message"])
    return invitation


def _text(membership: Membership, moment: str, link: str) -> messages.MessageText:
    person, course = membership.person, membership.course
    own = MessageTemplate.objects.filter(course=course, key=f"survey_{moment}").first()
    override = messages.MessageText(own.subject, own.body) if own else TEXTS[moment]
    next_courses = ""
    if moment == Moment.COMPLETED:
        next_courses = recommend_next(course, person_id=person.pk).as_text()
    context = {
        "first_name": person.given_name or (person.name.split() or ["there"])[0],
        "course": course.title or "your course",
        "link": link,
        "next_courses": next_courses,
    }
    return messages.render(f"survey_{moment}", context, override=override)
