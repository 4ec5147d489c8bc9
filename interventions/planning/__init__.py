"""Deciding today's interventions: who gets which step, on which channel, when.

`day_facts` reads what a course's day needs (progress, risk, recent messages, staff) in bulk;
`planner` decides and records; `playbooks` (which step is due), `throttle` (guardrails) and
`personalise` (where a learner stopped) are pure; `bulk` decides and records staff's own message
to every learner of a roster filter under the same guardrails. Planning never sends: it
enqueues into `interventions.delivery`.
"""
