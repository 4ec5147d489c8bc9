"""Signals completion sends upward, so the leaf apps learn of events without being imported.

`criteria_met` is the one way completion reaches certificates (issue and write back);
`learner_notice` lets certificates ask interventions to tell a learner something (expiry
reminders) without the two leaves importing each other.
"""

from __future__ import annotations

from django.dispatch import Signal

# Sent after scoring stores Progress rows whose criteria are met, or whose status an instructor
# overrode to completed. kwargs: course_id, membership_ids (those learners of the course on that
# day), as_of.
criteria_met = Signal()

# Sent when a learner must be told something outside a playbook. kwargs: membership_id,
# idempotency_key, subject, body_text, link, reason, manager_copy (the learner's manager, from
# the launch claim or HR roster, gets a copy).
learner_notice = Signal()

# Sent by the compliance report to learn each learner's credential (certificates answers).
# kwargs: membership_ids. A receiver returns {membership_id: CredentialFacts}.
credentials_wanted = Signal()
