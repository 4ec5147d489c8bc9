"""The engagement event store and what feeds it.

`Activity` is the one append-only timeline every later feature reads (risk, interventions,
certificates). Raw inputs (xAPI statements, Caliper events, import batches) are kept beside it
for audit; events about people not yet on the roster wait in `PendingActivity`.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from psycopg.types.json import Json, Jsonb

from lti_tool.models import Course, Deployment, Membership, Person


class Verb(models.TextChoices):
    LAUNCHED = "launched", "Launched"
    VIEWED = "viewed", "Viewed"
    PROGRESSED = "progressed", "Progressed"
    COMPLETED = "completed", "Completed"
    ATTEMPTED = "attempted", "Attempted"
    PASSED = "passed", "Passed"
    FAILED = "failed", "Failed"
    SUBMITTED = "submitted", "Submitted"
    POSTED = "posted", "Posted"
    ERRORED = "errored", "Errored"
    LOGGED_IN = "logged_in", "Logged in"
    LOGGED_OUT = "logged_out", "Logged out"
    OTHER = "other", "Other"


class Source(models.TextChoices):
    LTI = "lti", "LTI launch"
    AGS = "ags", "Assignment and Grade Services"
    XAPI = "xapi", "xAPI"
    CALIPER = "caliper", "Caliper"
    IMPORT = "import", "CSV/JSONL import"
    API = "api", "REST API"


class Item(models.Model):
    """A learning item of a course: a module, page, assessment, forum or video."""

    class Kind(models.TextChoices):
        MODULE = "module", "Module"
        PAGE = "page", "Page"
        ASSESSMENT = "assessment", "Assessment"
        FORUM = "forum", "Forum"
        VIDEO = "video", "Video"
        LINK = "link", "Tool link"
        OTHER = "other", "Other"

    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="items")
    # An AGS line item URL, a resource link id, an xAPI activity IRI or a Caliper object id.
    external_id = models.CharField(max_length=1000)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.OTHER)
    title = models.CharField(max_length=500, blank=True)
    source = models.CharField(max_length=10, choices=Source.choices)
    position = models.PositiveIntegerField(null=True, blank=True)
    score_maximum = models.FloatField(null=True, blank=True)
    due_at = models.DateTimeField(null=True, blank=True)
    # Its share of the course (any scale; pace and percent complete weigh items by it) and the
    # scaled score (0..1) at or above which it counts as done.
    weight = models.FloatField(null=True, blank=True)
    pass_mark = models.FloatField(null=True, blank=True)
    # The module or section it belongs to, as the course names it.
    section = models.CharField(max_length=200, blank=True)
    ags_lineitem_url = models.URLField(max_length=1000, blank=True)
    # Finishline's own line item (completion write-back) rather than one read from the course.
    is_tool_lineitem = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["course", "external_id"], name="item_course_external"),
        ]

    def __str__(self) -> str:
        return self.title or self.external_id


class Activity(models.Model):
    """One thing a learner did, when it happened. Append-only.

    `(course, occurred_at, source, source_id)` is unique so the same statement or event sent
    twice is stored once; `occurred_at` is part of the key so the PostgreSQL table can be
    range-partitioned by month without changing it (see docs/data-inputs.md, "Event store"),
    and comes second so the key is also the index for per-course time-range scans and new rows
    land at its right-hand edge. The only other index is `activity_facts` for per-learner scans:
    every index costs each of tens of millions of inserted rows a B-tree descent.
    """

    # No database foreign-key constraints on this hot, append-only table: each one costs a
    # locking lookup per inserted row (a third of a bulk import's time). Rows are only
    # written by `completion.events.store` and `completion.ingest.files.imports` with ids
    # they have just resolved, and Django still cascades deletes. course and person need no
    # index of their own: the composite indexes below lead with them.
    course = models.ForeignKey(
        Course, on_delete=models.CASCADE, related_name="+", db_constraint=False, db_index=False
    )
    person = models.ForeignKey(
        Person, on_delete=models.CASCADE, related_name="+", db_constraint=False, db_index=False
    )
    item = models.ForeignKey(
        Item,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_constraint=False,
    )
    verb = models.CharField(max_length=12, choices=Verb.choices)
    occurred_at = models.DateTimeField()
    received_at = models.DateTimeField()
    duration_seconds = models.FloatField(null=True, blank=True)
    # Scaled 0..1 where the source gives a scale; raw scores live in the source payload.
    score = models.FloatField(null=True, blank=True)
    success = models.BooleanField(null=True, blank=True)
    # How many times (a day's clicks on one page, say) when a row stands for several; null: once.
    count = models.PositiveIntegerField(null=True, blank=True)
    source = models.CharField(max_length=10, choices=Source.choices)
    source_id = models.CharField(max_length=255)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["course", "occurred_at", "source", "source_id"], name="activity_source_key"
            ),
        ]
        indexes = [
            # Risk scoring reads a course's events per learner with an index-only scan.
            models.Index(
                fields=["course", "person", "occurred_at"],
                name="activity_facts",
                include=["item", "verb", "duration_seconds", "score", "success", "count"],
            ),
        ]

    def __str__(self) -> str:
        return f"{self.person_id} {self.verb} at {self.occurred_at:%Y-%m-%d %H:%M}"


class ActivityTally(models.Model):
    """How many events a course has per UTC day, written by PostgreSQL triggers on
    `completion_activity` (migration 0013). A facts snapshot checks that the events it was
    built from are unchanged by summing these, not by counting a million index entries. Each
    row is a delta (one per statement that inserts, deletes or moves events, per course and
    day), so concurrent writers never wait on one row. `completion.events.tally` reads, folds and
    corrects it. Empty on SQLite, where the snapshot counts the events instead.
    """

    course_id = models.BigIntegerField()
    day = models.DateField()
    events = models.BigIntegerField()

    class Meta:
        indexes = [
            models.Index(fields=["course_id", "day"], name="tally_course_day", include=["events"])
        ]

    def __str__(self) -> str:
        return f"{self.course_id} {self.day} {self.events:+}"


class PendingActivity(models.Model):
    """An event whose actor (or course) is not on a roster yet. Matched after roster syncs."""

    deployment = models.ForeignKey(Deployment, on_delete=models.CASCADE, related_name="+")
    course = models.ForeignKey(Course, on_delete=models.CASCADE, null=True, blank=True)
    # How the course was named by the source when it is not known yet (a context id or IRI).
    course_key = models.CharField(max_length=1000, blank=True)
    # "lti:<sub>", "account:<homePage>|<name>", "mbox:mailto:…", "email:…", "sourced:…".
    actor_keys = models.JSONField(default=list)
    item_external_id = models.CharField(max_length=1000, blank=True)
    item_kind = models.CharField(max_length=20, blank=True)
    item_title = models.CharField(max_length=500, blank=True)
    verb = models.CharField(max_length=12, choices=Verb.choices)
    occurred_at = models.DateTimeField()
    received_at = models.DateTimeField()
    duration_seconds = models.FloatField(null=True, blank=True)
    score = models.FloatField(null=True, blank=True)
    success = models.BooleanField(null=True, blank=True)
    count = models.PositiveIntegerField(null=True, blank=True)
    source = models.CharField(max_length=10, choices=Source.choices)
    source_id = models.CharField(max_length=255)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["deployment", "source", "source_id", "occurred_at"],
                name="pending_source_key",
            ),
        ]

    def __str__(self) -> str:
        return f"pending {self.source}:{self.source_id}"


class XapiStatement(models.Model):
    """A statement exactly as received, for audit, conflict checks and voiding."""

    deployment = models.ForeignKey(Deployment, on_delete=models.CASCADE, related_name="+")
    statement_id = models.UUIDField()
    payload = models.JSONField()
    stored_at = models.DateTimeField()
    voided = models.BooleanField(default=False)
    # The statement a voiding statement voids, so a target that arrives later is voided too.
    voids = models.UUIDField(null=True, blank=True)
    # The statement this one's object refers to (a StatementRef, voiding or not): queries
    # return a statement targeting a match as a match (Communication 2.1.3).
    target = models.UUIDField(null=True, blank=True)
    # Lookup keys for GET /statements?agent=…/activity=… (`completion.ingest.xapi.statements`): the
    # actor's, and the object's when it is an Activity or an identified agent ("" if none).
    actor_key = models.CharField(max_length=32, blank=True, default="")
    object_key = models.CharField(max_length=32, blank=True, default="")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["deployment", "statement_id"], name="xapi_statement_id"
            ),
        ]
        indexes = [
            models.Index(fields=["deployment", "actor_key"], name="xapi_statement_actor"),
            models.Index(fields=["deployment", "object_key"], name="xapi_statement_object"),
            models.Index(
                fields=["deployment", "voids"],
                name="xapi_statement_voids",
                condition=models.Q(voids__isnull=False),
            ),
            models.Index(
                fields=["deployment", "target"],
                name="xapi_statement_target",
                condition=models.Q(target__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return str(self.statement_id)


class XapiAttachment(models.Model):
    """The raw data of an xAPI attachment, kept once per deployment under its SHA-2.

    Statements name their attachments by hash (Data 2.4.11), so the same file sent with many
    statements is stored once; `GET /statements?attachments=true` sends it back.
    """

    deployment = models.ForeignKey(Deployment, on_delete=models.CASCADE, related_name="+")
    sha2 = models.CharField(max_length=128)  # lower-case hex
    content_type = models.CharField(max_length=255)
    content = models.BinaryField()
    stored_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["deployment", "sha2"], name="xapi_attachment_once"),
        ]

    def __str__(self) -> str:
        return self.sha2[:12]


class XapiDocument(models.Model):
    """A document of the xAPI State, Activity Profile or Agent Profile resource, kept as
    received (its bytes and media type) for one deployment (Communication 2.3, 2.6, 2.7).

    A document is named by its scope (kind, activity, agent, registration: what a GET without
    an id lists) and its id; both are digests, as IRIs, agent identifiers and ids have no
    length limit and a B-tree entry does. `etag` is the SHA-1 of `content` (Communication 3.1).
    """

    class Kind(models.TextChoices):
        STATE = "state", "State"
        ACTIVITY_PROFILE = "activity_profile", "Activity Profile"
        AGENT_PROFILE = "agent_profile", "Agent Profile"

    deployment = models.ForeignKey(Deployment, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    scope_key = models.CharField(max_length=32)
    document_key = models.CharField(max_length=32)
    activity_id = models.TextField(blank=True)
    agent = models.JSONField(null=True, blank=True)  # objectType and the one IFI
    registration = models.UUIDField(null=True, blank=True)
    document_id = models.TextField()
    content_type = models.CharField(max_length=255)
    content = models.BinaryField()
    etag = models.CharField(max_length=40)
    updated_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["deployment", "document_key"], name="xapi_document_key"
            ),
        ]
        indexes = [
            models.Index(
                fields=["deployment", "scope_key", "updated_at"], name="xapi_document_scope"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.document_id}"


class XapiActivity(models.Model):
    """What this LRS knows of an Activity: the definition merged from every statement that
    carried one (Communication 2.5), under the same key as `XapiStatement.object_key`."""

    deployment = models.ForeignKey(Deployment, on_delete=models.CASCADE, related_name="+")
    activity_key = models.CharField(max_length=32)
    activity_id = models.TextField()
    definition = models.JSONField(default=dict)
    updated_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["deployment", "activity_key"], name="xapi_activity_key"
            ),
        ]

    def __str__(self) -> str:
        return self.activity_id


class CaliperEvent(models.Model):
    """A Caliper event exactly as received, for audit and de-duplication."""

    deployment = models.ForeignKey(Deployment, on_delete=models.CASCADE, related_name="+")
    event_id = models.CharField(max_length=255)
    payload = models.JSONField()
    received_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["deployment", "event_id"], name="caliper_event_id"),
        ]

    def __str__(self) -> str:
        return self.event_id


class ImportBatch(models.Model):
    """One CSV or JSON Lines file imported all-or-nothing, with its rejected rows."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        DONE = "done", "Imported"
        REJECTED = "rejected", "Rejected"
        FAILED = "failed", "Failed"

    deployment = models.ForeignKey(Deployment, on_delete=models.CASCADE, related_name="+")
    # events, people, items or outcomes (`completion.ingest.files.history`)
    kind = models.CharField(max_length=10, default="events")
    filename = models.CharField(max_length=500)
    file_format = models.CharField(max_length=10)
    sha256 = models.CharField(max_length=64)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    rows_total = models.PositiveIntegerField(default=0)
    rows_stored = models.PositiveIntegerField(default=0)
    rows_duplicate = models.PositiveIntegerField(default=0)
    rows_pending = models.PositiveIntegerField(default=0)
    rejected = models.JSONField(default=list, blank=True)
    created_by = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.filename} ({self.status})"


class CourseSync(models.Model):
    """Health of one course's background sync (roster over NRPS, grades over AGS)."""

    class Kind(models.TextChoices):
        ROSTER = "roster", "Roster (NRPS)"
        GRADES = "grades", "Grades (AGS)"

    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="syncs")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    last_started_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    counts = models.JSONField(default=dict, blank=True)
    # NRPS `differences` link from the last full sync, used for the next incremental one.
    differences_url = models.URLField(max_length=1000, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["course", "kind"], name="course_sync_kind"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} sync of course {self.course_id}"


# --- Completion criteria, progress and risk (the risk engine) --------------------------------


class CompletionCriteria(models.Model):
    """What completing a course means, its timeline, and how risk is scored for it.

    Item references are `Item` primary keys kept in JSON lists/maps so instructors can change
    them in one form; `completion.risk.selectors.criteria_of` turns this row into the pure
    `completion.progress.criteria.Criteria` and `completion.progress.pace.Timeline`.
    """

    class Timeline(models.TextChoices):
        ABSOLUTE = "absolute", "Fixed dates"
        RELATIVE = "relative", "Relative to each learner's enrolment"
        SELF_PACED = "self_paced", "Self-paced (pace of earlier completers)"

    class RiskModel(models.TextChoices):
        RULES = "rules", "Transparent rules"
        TRAINED = "trained", "Model trained on finished cohorts"

    course = models.OneToOneField(Course, on_delete=models.CASCADE, related_name="criteria")
    required_item_ids = models.JSONField(default=list, blank=True)
    min_content_share = models.FloatField(default=0.8)
    min_overall_score = models.FloatField(null=True, blank=True)
    min_item_scores = models.JSONField(default=dict, blank=True)  # {"<item id>": 0.7}
    required_submission_ids = models.JSONField(default=list, blank=True)
    min_time_minutes = models.PositiveIntegerField(default=0)
    due_on = models.DateField(null=True, blank=True)
    due_days_after_enrolment = models.PositiveIntegerField(null=True, blank=True)
    item_prerequisites = models.JSONField(default=dict, blank=True)  # {"<item id>": [ids]}
    # The course's own due date per item ({"<item id>": "2026-03-10"}), over the LMS's.
    item_due_dates = models.JSONField(default=dict, blank=True)
    prerequisite_course_ids = models.JSONField(default=list, blank=True)
    status_labels = models.JSONField(default=dict, blank=True)  # {"completed": "Compliant"}
    # Days before the deadline a learner is reminded ([] = 30, 14, 3); the last one goes to
    # their manager too.
    reminder_days = models.JSONField(default=list, blank=True)
    timeline = models.CharField(max_length=12, choices=Timeline.choices, default=Timeline.RELATIVE)
    starts_on = models.DateField(null=True, blank=True)
    ends_on = models.DateField(null=True, blank=True)
    duration_days = models.PositiveIntegerField(default=20)  # working days, relative timeline
    skip_weekends = models.BooleanField(default=True)
    blackout_dates = models.JSONField(default=list, blank=True)  # ["2026-12-25"]
    anchors = models.JSONField(default=list, blank=True)  # [{"on": "…", "share": .5, "label": …}]
    rule_settings = models.JSONField(default=dict, blank=True)  # completion.risk.rules.RulesConfig
    risk_model = models.CharField(max_length=10, choices=RiskModel.choices, default=RiskModel.RULES)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Criteria of course {self.course_id}"


class Pause(models.Model):
    """A learner-declared pause: no absence or pacing expectations between the two dates."""

    membership = models.ForeignKey(Membership, on_delete=models.CASCADE, related_name="pauses")
    starts_on = models.DateField()
    until = models.DateField()  # inclusive
    reason = models.CharField(max_length=500, blank=True)
    created_by = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["membership", "starts_on"], name="pause_membership")]

    def __str__(self) -> str:
        return f"Pause {self.starts_on}..{self.until}"


class Accommodation(models.Model):
    """An accommodation profile, set by staff on the learner's page.

    The learner's timeline and playbook delays are stretched by `time_multiplier` and by a
    reduced pace (`pace_percent` of the standard pace); a relative deadline moves by
    `deadline_extension_days`; `alternative_requirements` is shown to the learner and staff.
    """

    membership = models.OneToOneField(
        Membership, on_delete=models.CASCADE, related_name="accommodation"
    )
    time_multiplier = models.FloatField(default=1.0)
    deadline_extension_days = models.PositiveSmallIntegerField(default=0)
    pace_percent = models.PositiveSmallIntegerField(default=100)
    alternative_requirements = models.TextField(blank=True)
    note = models.CharField(max_length=500, blank=True)

    def __str__(self) -> str:
        return f"x{self.time_multiplier}"

    @property
    def stretch(self) -> float:
        """How much longer everything may take: the time multiplier over the pace share."""
        return self.time_multiplier * 100 / max(self.pace_percent, 1)


class ScheduleRevision(models.Model):
    """A learner's revised schedule: their finish date moves by `extra_days`. Their expected
    pace stretches by `stretch` (so the plan reaches 100% on the new date) and, for a fixed
    course deadline, the deadline moves by `extension_days`. Revisions compound."""

    membership = models.ForeignKey(
        Membership, on_delete=models.CASCADE, related_name="schedule_revisions"
    )
    extra_days = models.PositiveSmallIntegerField()
    stretch = models.FloatField()
    extension_days = models.PositiveSmallIntegerField(default=0)
    reason = models.CharField(max_length=500, blank=True)
    by = models.CharField(max_length=255)
    at = models.DateTimeField()

    def __str__(self) -> str:
        return f"+{self.extra_days} days for {self.membership_id}"


class StatusOverride(models.Model):
    """An instructor's override of a learner's status; the newest row is in force.

    An empty `status` clears earlier overrides. Every row is also written to the audit trail.
    """

    membership = models.ForeignKey(
        Membership, on_delete=models.CASCADE, related_name="status_overrides"
    )
    status = models.CharField(max_length=20, blank=True)
    reason = models.TextField()
    by = models.CharField(max_length=255)
    at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["membership", "at"], name="status_override_at")]

    def __str__(self) -> str:
        return self.status or "(cleared)"


# Scores (Progress, RiskScore) are written tens of thousands of rows per course a day. Their
# keys have no database constraints, which PostgreSQL checked row by row at commit (a third of
# writing a day), and no single-column indexes: the composite ones lead with each key. Only
# `completion.risk.scoring` writes them, under a per-course lock, leaving out memberships no longer
# stored; Django still cascades deletes. What this gives up: a membership deleted in the
# instant between that check and the commit leaves that day's rows behind.


class Progress(models.Model):
    """A learner's progress in a course as it stood at the end of `as_of` (UTC)."""

    membership = models.ForeignKey(
        Membership, models.CASCADE, related_name="+", db_constraint=False, db_index=False
    )
    course = models.ForeignKey(
        Course, models.CASCADE, related_name="+", db_constraint=False, db_index=False
    )
    as_of = models.DateField()
    status = models.CharField(max_length=20)
    status_label = models.CharField(max_length=100)
    criteria_met = models.BooleanField(default=False)
    percent_complete = models.FloatField()
    items_done = models.PositiveIntegerField()
    items_total = models.PositiveIntegerField()
    time_on_task_seconds = models.FloatField()
    score = models.FloatField(null=True, blank=True)
    expected_percent = models.FloatField()
    gap = models.FloatField()  # expected - actual, in percentage points
    due_on = models.DateField(null=True, blank=True)
    unmet = models.JSONField(default=list, blank=True)
    computed_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["membership", "as_of"], name="progress_membership_day"),
        ]
        indexes = [models.Index(fields=["course", "as_of"], name="progress_course_day")]

    def __str__(self) -> str:
        return f"{self.membership_id} {self.as_of} {self.percent_complete:.0f}%"


class TextJSONField(models.JSONField):
    """JSON kept on PostgreSQL as `json`, its text checked and stored as it came, rather than
    `jsonb`, a tree built on every write. For a column written far more often than read and
    never queried inside: building jsonb for a risk score's signals took 70 of the 160 ms
    PostgreSQL spent storing a 5,000-learner course's day. `json` has no equality operator
    and no containment or key lookups: no filter, DISTINCT or ORDER BY may use the column
    on PostgreSQL (SQLite would let them pass). Elsewhere, a JSONField."""

    def db_type(self, connection: Any) -> str | None:
        return "json" if connection.vendor == "postgresql" else super().db_type(connection)

    def get_db_prep_value(self, value: Any, connection: Any, prepared: bool = False) -> Any:
        adapted = super().get_db_prep_value(value, connection, prepared)
        if isinstance(adapted, Jsonb):  # else PostgreSQL builds the tree only to cast it
            return Json(adapted.obj, dumps=adapted.dumps)
        return adapted

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        # psycopg parses `json` itself: Django has it leave only `jsonb` as text.
        if value is not None and not isinstance(value, str):
            return value
        return super().from_db_value(value, expression, connection)


class RiskScore(models.Model):
    """A learner's drop-out risk on a day: tier, completion probability, change and reasons."""

    class Tier(models.TextChoices):
        GREEN = "green", "Green"
        YELLOW = "yellow", "Yellow"
        RED = "red", "Red"

    membership = models.ForeignKey(
        Membership, models.CASCADE, related_name="+", db_constraint=False, db_index=False
    )
    course = models.ForeignKey(
        Course, models.CASCADE, related_name="+", db_constraint=False, db_index=False
    )
    as_of = models.DateField()
    tier = models.CharField(max_length=10, choices=Tier.choices)
    probability = models.FloatField()  # of completing
    change = models.FloatField(null=True, blank=True)  # since the day before
    reasons = models.JSONField(default=list, blank=True)
    # Every signal evaluated: {code: [value, threshold, fired]}, a fired one's reason fourth
    # (`signals.to_stored`). The fired ones again as bits (`signals.FIRED_BIT`), so "who failed
    # a quiz twice today" needs no JSON: there used to be a row per fired signal, two thirds
    # of a day's writes.
    signals = TextJSONField(default=dict, blank=True)
    fired_signals = models.BigIntegerField(default=0)
    model_used = models.CharField(max_length=20)
    computed_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["membership", "as_of"], name="risk_membership_day"),
        ]
        indexes = [models.Index(fields=["course", "as_of", "tier"], name="risk_course_day")]

    def __str__(self) -> str:
        return f"{self.membership_id} {self.as_of} {self.tier}"


class ScoringRun(models.Model):
    """The last scoring of a course for a day: cohort statistics and the event watermark.

    Incremental re-scoring reuses the cohort statistics of the day's full pass, and picks up
    learners with events newer than `last_activity_id`.
    """

    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="+")
    as_of = models.DateField()
    cohort_stats = models.JSONField(default=dict)
    learners = models.PositiveIntegerField(default=0)
    last_activity_id = models.BigIntegerField(default=0)
    full_at = models.DateTimeField(null=True, blank=True)
    incremental_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["course", "as_of"], name="scoring_run_course_day"),
        ]

    def __str__(self) -> str:
        return f"{self.course_id} {self.as_of}"


class FactsSnapshot(models.Model):
    """A course's fact rows (`completion.risk.fact_rows`) as of a day, so later days read only the
    events stored since. A cache: deleting it only makes the next pass slower.

    It holds the course's events before the end of `as_of` with ids up to `last_activity_id`;
    `events` is how many, which is how `facts_snapshot` tells that they have not changed.
    """

    course = models.OneToOneField(Course, on_delete=models.CASCADE, related_name="+")
    as_of = models.DateField()
    read_on = models.DateField()  # the last day every event was read; later ones were merged
    last_activity_id = models.BigIntegerField()
    events = models.BigIntegerField()
    format = models.PositiveSmallIntegerField()
    data = models.BinaryField()  # numpy .npz, no pickles
    saved_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.course_id} {self.as_of} ({self.events} events)"


class TrainedRiskModel(models.Model):
    """A calibrated model trained on a course's (or a deployment's) finished cohorts."""

    course = models.ForeignKey(
        Course, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    deployment = models.ForeignKey(
        Deployment, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    trained_at = models.DateTimeField()
    algorithm = models.CharField(max_length=40)
    artefact = models.BinaryField()  # joblib dump of the fitted sklearn estimator
    feature_names = models.JSONField(default=list)
    samples = models.PositiveIntegerField(default=0)
    metrics = models.JSONField(default=dict, blank=True)
    importances = models.JSONField(default=dict, blank=True)

    class Meta:
        indexes = [models.Index(fields=["course", "trained_at"], name="trained_model_course")]

    def __str__(self) -> str:
        return f"{self.algorithm} {self.trained_at:%Y-%m-%d}"


class Outcome(models.Model):
    """How a learner's enrolment ended, and when: what risk training and evaluation learn from.

    Recorded by an import of a history (`import_events --kind outcomes`), by the synthetic
    generator (`generate_cohort`, its archetype in `note`), by roster and grade syncs and by an
    instructor on the learner's page (`completion.outcomes`).
    """

    class Result(models.TextChoices):
        COMPLETED = "completed", "Completed"
        PASSED = "passed", "Passed"
        FAILED = "failed", "Failed"
        WITHDRAWN = "withdrawn", "Withdrawn"

    class Source(models.TextChoices):
        IMPORT = "import", "Imported history"
        LMS = "lms", "The LMS"
        NRPS = "nrps", "The platform's roster"
        AGS = "ags", "A final grade from the platform"
        INSTRUCTOR = "instructor", "An instructor"
        SYNTHETIC = "synthetic", "Synthetic cohort"

    membership = models.OneToOneField(Membership, on_delete=models.CASCADE, related_name="+")
    result = models.CharField(max_length=12, choices=Result.choices)
    decided_on = models.DateField()
    source = models.CharField(max_length=12, choices=Source.choices)
    note = models.CharField(max_length=200, blank=True)
    recorded_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.result} on {self.decided_on}"

    @property
    def completed(self) -> bool:
        return self.result in COMPLETED_RESULTS


COMPLETED_RESULTS = frozenset({Outcome.Result.COMPLETED, Outcome.Result.PASSED})


class EnrolmentDetail(models.Model):
    """What a history import knows about an enrolment beyond the roster: prior attempts, the
    credits the learner studies at once, why they withdrew. Read by the risk model."""

    membership = models.OneToOneField(Membership, on_delete=models.CASCADE, related_name="+")
    prior_attempts = models.PositiveIntegerField(null=True, blank=True)
    credits = models.FloatField(null=True, blank=True)
    withdrawal_reason = models.CharField(max_length=200, blank=True)

    def __str__(self) -> str:
        return f"details of {self.membership_id}"


class HrRosterImport(models.Model):
    """One HR roster CSV merged into a deployment's Person.attributes, or rejected whole."""

    class Status(models.TextChoices):
        DONE = "done", "Imported"
        REJECTED = "rejected", "Rejected"

    deployment = models.ForeignKey(Deployment, on_delete=models.CASCADE, related_name="+")
    filename = models.CharField(max_length=500)
    sha256 = models.CharField(max_length=64)
    status = models.CharField(max_length=20, choices=Status.choices)
    rows_total = models.PositiveIntegerField(default=0)
    people_updated = models.PositiveIntegerField(default=0)
    people_unchanged = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)  # [{"line": 3, "reason": "…"}]
    created_by = models.CharField(max_length=255)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["deployment", "created_at"], name="hr_import_deployment")]

    def __str__(self) -> str:
        return f"{self.filename} ({self.status})"


class ReportSchedule(models.Model):
    """A compliance report emailed to some addresses every so many days (CSV, XLSX or PDF);
    a null course means every current course of the deployment (administrators only)."""

    class Format(models.TextChoices):
        CSV = "csv", "CSV"
        XLSX = "xlsx", "Excel (XLSX)"
        PDF = "pdf", "PDF"

    deployment = models.ForeignKey(Deployment, on_delete=models.CASCADE, related_name="+")
    course = models.ForeignKey(
        Course, on_delete=models.CASCADE, null=True, blank=True, related_name="report_schedules"
    )
    recipients = models.TextField()  # comma-separated email addresses
    format = models.CharField(max_length=4, choices=Format.choices, default=Format.CSV)
    every_days = models.PositiveSmallIntegerField(default=7)
    next_send_on = models.DateField()
    last_sent_at = models.DateTimeField(null=True, blank=True)
    created_by = models.CharField(max_length=255)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["next_send_on"], name="report_schedule_due")]

    def __str__(self) -> str:
        return f"{self.format} every {self.every_days} days to {self.recipients}"
