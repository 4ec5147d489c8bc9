"""The engagement event store: every input ends here, once.

Owns `store_events` (resolve course, person and item in bulk, then append to `Activity`), the
pending events of people or courses not known yet and their matching, and the per-day event
tally PostgreSQL keeps by trigger. Imports only `completion.models`, `completion.data` and
`lti_tool`; nothing here knows about ingest formats, progress or risk.
"""
