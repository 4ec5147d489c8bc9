"""The words of every message: defaults here, a course's own wording in MessageTemplate.

Templates are Django templates rendered from strings with a small, fixed context (the learner's
name, course, progress, the item they stopped at and how long it should take to finish it, a
link back), so instructors can edit wording without touching code. A course may add translations
of a wording; `pick_language` chooses which one a recipient reads.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

from django.template import Context, Engine, Template
from django.template.defaultfilters import linebreaksbr
from django.utils.html import format_html_join

ENGINE = Engine(autoescape=False)


@dataclass(frozen=True)
class MessageText:
    subject: str
    body: str


DEFAULTS: Mapping[str, MessageText] = {
    "welcome": MessageText(
        "Welcome to {{ course }}",
        "Hi {{ first_name }},\n\nWelcome to {{ course }}. Your first step is "
        "{{ next_item|default:'the first module' }}{% if link %}: {{ link }}{% endif %}.\n",
    ),
    "welcome_reminder": MessageText(
        "Your first step in {{ course }}",
        "Hi {{ first_name }}, a reminder that {{ next_item|default:'the first module' }} is "
        "ready for you{% if link %}: {{ link }}{% endif %}.\n",
    ),
    "start_here": MessageText(
        "Start here: {{ course }}",
        "Hi {{ first_name }}, not sure where to begin? Start with "
        "{{ next_item|default:'the first module' }}; most people finish it in about "
        "{{ item_minutes|default:'20' }} minutes.{% if link %} {{ link }}{% endif %}\n",
    ),
    "progress_saved": MessageText(
        "Your progress in {{ course }} is saved",
        "Hi {{ first_name }}, your progress is saved: you are {{ percent }}% through "
        "{{ course }}.{% if minutes_left %} You are {{ minutes_left }} minutes from finishing "
        "{{ next_item }}.{% endif %}{% if link %} Pick up where you left off: "
        "{{ link }}{% endif %}\n",
    ),
    "absent_sms": MessageText(
        "",
        "{{ first_name }}, {{ course }}: you're {{ percent }}% done. "
        "{% if minutes_left %}{{ minutes_left }} min to finish {{ next_item }}. {% endif %}"
        "Reply STOP to opt out.",
    ),
    "schedule_options": MessageText(
        "Let's find a pace that works for you",
        "Hi {{ first_name }}, life gets busy. You can pause {{ course }} from your progress "
        "page and pick a return date, or ask for a revised schedule. You are {{ percent }}% "
        "through.{% if link %} {{ link }}{% endif %}\n",
    ),
    "advisor_absent": MessageText(
        "{{ learner }} has been away from {{ course }} for {{ days_absent }} days",
        "{{ learner }} ({{ percent }}% done) has not visited {{ course }} for {{ days_absent }} "
        "days. Reasons: {{ reasons }}.\n",
    ),
    "keeping_your_spot": MessageText(
        "We're keeping your spot in {{ course }}",
        "Hi {{ first_name }}, we're keeping your spot in {{ course }}. You are {{ percent }}% "
        "through; {{ next_item|default:'the next module' }} is waiting.{% if "
        "link %} {{ link }}{% endif %}\n",
    ),
    "final_notice": MessageText(
        "Final notice: {{ course }}{% if due %} closes on {{ due }}{% endif %}",
        "Hi {{ first_name }}, this is our last reminder before {{ course }}"
        "{% if due %} closes on {{ due }}{% else %} closes{% endif %}. You are {{ percent }}% "
        "through.{% if link %} {{ link }}{% endif %}\n",
    ),
    "encouragement": MessageText(
        "About {{ item }}",
        "Hi {{ first_name }}, {{ item }} trips up many people on the first try. Review the "
        "material, note the questions you missed, and try again when ready.\n",
    ),
    "supplementary_resources": MessageText(
        "Extra help with {{ item }}",
        "Hi {{ first_name }}, here are extra resources for {{ item }}:"
        "{% if resources %}\n{{ resources }}\n{% else %} revisit the module summary and the "
        "worked examples.{% endif %}"
        "{% if practice %}\nTry the practice item before your next attempt: {{ practice }}"
        "{% endif %}"
        "{% if booking_link %}\nOr book a 1-on-1: {{ booking_link }}{% endif %}\n",
    ),
    "instructor_struggling": MessageText(
        "{{ learner }} failed {{ item }} three times",
        "{{ learner }} has failed {{ item }} in {{ course }} three times. Consider offering a "
        "1-on-1{% if booking_link %} ({{ booking_link }}){% endif %}. Progress {{ percent }}%. "
        "Reasons: {{ reasons }}.\n",
    ),
    "other_format_or_extension": MessageText(
        "Another way through {{ item }}",
        "Hi {{ first_name }}, if {{ item }} is not working for you, ask your instructor about "
        "another format or an extension.\n",
    ),
    "revised_schedule": MessageText(
        "A revised schedule for {{ course }}",
        "Hi {{ first_name }}, you are {{ gap }} points behind the plan for {{ course }}. A "
        "revised schedule: {{ next_item|default:'the next module' }} this week. If you need "
        "more time, move your finish date from the pause page of your course (Revise your "
        "schedule): your expected pace follows the new date.\n",
    ),
    "advisor_plan_revision": MessageText(
        "{{ learner }} is 40% behind in {{ course }}",
        "{{ learner }} is {{ gap }} points behind pace in {{ course }}. Reasons: {{ reasons }}.\n",
    ),
    "advisor_not_started": MessageText(
        "{{ learner }} has not started {{ course }}",
        "{{ learner }} enrolled in {{ course }} two days ago and has not started.\n",
    ),
    "community_introduction": MessageText(
        "Meet your fellow learners in {{ course }}",
        "Hi {{ first_name }}, say hello in the course forum: learners who join the discussion "
        "finish more often.{% if partners %} Learners at about the same point who would like "
        "a study partner: {{ partners }}; look for them in the forum.{% endif %}\n",
    ),
    "check_in": MessageText(
        "How is {{ course }} going?",
        "Hi {{ first_name }}, how is {{ course }} going? Reply to this email if anything gets "
        "in your way.\n",
    ),
    "troubleshooting_guide": MessageText(
        "Having technical trouble?",
        "Hi {{ first_name }}, we noticed errors while you worked on {{ course }}. Try another "
        "browser, clear the cache, and check your connection; reply if it keeps happening.\n",
    ),
    "support_ticket": MessageText(
        "Technical trouble: {{ learner }} in {{ course }}",
        "{{ learner }} hit technical errors in {{ course }} over the last day. "
        "Reasons: {{ reasons }}.\n",
    ),
    "milestone": MessageText(
        "{{ percent }}% of {{ course }} done!",
        "Well done, {{ first_name }}: you are {{ percent }}% through {{ course }}.\n",
    ),
    "completed_certificate": MessageText(
        "You finished {{ course }}!",
        "Congratulations, {{ first_name }}! You completed {{ course }}. Your certificate is on "
        "your progress page.\n",
    ),
    "review_request": MessageText(
        "How was {{ course }}?",
        "Hi {{ first_name }}, how was {{ course }}? A two-minute review helps other learners.\n",
    ),
    "next_course": MessageText(
        "What's next after {{ course }}",
        "Hi {{ first_name }}, ready for the next step? Ask your organisation about the courses "
        "that follow {{ course }}.\n",
    ),
    "welcome_back": MessageText(
        "Welcome back to {{ course }}",
        "Hi {{ first_name }}, welcome back. Your progress is saved: you are {{ percent }}% "
        "through {{ course }}. Pick up where you left off when you are ready.\n",
    ),
    "instructor_message": MessageText("{{ subject }}", "{{ text }}"),
}


DEFAULT_LANGUAGE = "en"


def pick_language(wanted: Sequence[str], available: Collection[str]) -> str:
    """The first of `wanted` (most preferred first: the person's choice, the launch locale,
    the course default) that has a translation in `available`, matching a regional tag to its
    language ("es-MX" finds "es"); empty when none has one (the default wording)."""
    known = {a.lower(): a for a in available}
    for tag in wanted:
        tag = tag.strip().replace("_", "-").lower()
        for candidate in (tag, tag.split("-")[0]):
            if candidate and candidate in known:
                return known[candidate]
    return ""


def render(
    key: str, context: Mapping[str, object], override: MessageText | None = None
) -> MessageText:
    template = override or DEFAULTS[key]
    ctx = Context(dict(context))
    return MessageText(
        subject=_compiled(template.subject).render(ctx).strip(),
        body=_compiled(template.body).render(ctx),
    )


@lru_cache(maxsize=1024)
def _compiled(source: str) -> Template:
    # A planning run renders the same few wordings for thousands of learners: compile once.
    return ENGINE.from_string(source)


def as_html(text: str) -> str:
    """A minimal, escaped HTML part from the text part."""
    paragraphs = [p for p in text.split("\n\n") if p.strip()]
    return format_html_join(
        "", "<p>{}</p>", ((linebreaksbr(p, autoescape=True),) for p in paragraphs)
    )
