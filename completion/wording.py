"""Plain words for the codes the engine stores: signals, tiers and who did something.

Pure: pages show these words and keep the code in a tooltip or an export only.
"""

from __future__ import annotations

SIGNALS: dict[str, str] = {
    "not_started_48h": "Has not started in the first two days",
    "missed_visits_2": "Missed two usual visits",
    "missed_visits_4": "Missed four usual visits",
    "behind_pace_20": "A fifth of the course behind schedule",
    "behind_pace_40": "Two fifths of the course behind schedule",
    "failed_twice": "Failed an assessment twice",
    "many_attempts": "Many attempts on one assessment",
    "below_min_time": "Less time on the course than the minimum",
    "score_below_cohort": "Scores well below the group",
    "low_content_time": "Little time on the course material",
    "no_forum_day_7": "No forum post in the first week",
    "technical_errors": "Ran into technical errors this week",
    "low_engagement_week1": "Little activity in the first week",
    "low_engagement": "Less active than most of the group",
    "declining_trend": "Activity falling off",
    "peer_deviation": "Behind peers who started at the same time",
    "low_activity_so_far": "Less active so far than most who started at the same time",
}
TIERS = {"red": "Needs attention", "yellow": "Watch", "green": "On track"}


def signal(code: str) -> str:
    """The signal's words; an unknown code becomes readable words rather than the code."""
    return SIGNALS.get(code) or code.replace("_", " ").capitalize()


def actor(by: str, names: dict[str, str] | None = None) -> str:
    """Who did something, from the stored `kind:id` (`person:4`, `learner:9`, `system`)."""
    if names and by in names:
        return names[by]
    kind, _, ident = by.partition(":")
    if kind in ("person", "learner", "staff") and ident:
        return "a staff member" if kind in ("person", "staff") else "the learner"
    if kind in ("system", "planner", "schedule", "auto", ""):
        return "Finishline (automatic)"
    if kind == "playbook":
        return "Finishline playbook"
    return kind.replace("_", " ")
