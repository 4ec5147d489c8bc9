"""Inputs of engagement data, each parsed into `completion.data.EngagementEvent`s.

`xapi/` is the LRS (statements, attachments, formats), `caliper/` the Caliper endpoint and
Canvas Live Events, `files/` the CSV and JSON Lines imports, `lms/` the NRPS and AGS syncs from
a course's platform. Parsers are pure; stores and views hand events to `completion.events`.
Ingest never imports progress, risk or the pages above them (import-linter enforces it).
"""
