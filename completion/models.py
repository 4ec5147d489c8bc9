"""The engagement event store and what feeds it.

`Activity` is the one append-only timeline every later feature reads (risk, interventions,
certificates). Raw inputs (xAPI statements, Caliper events, import batches) are kept beside it
for audit; events about people not yet on the roster wait in `PendingActivity`.
"""

from __future__ import annotations

from django.db import models

from lti_tool.models import Course, Deployment, Person


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

    `(course, source, source_id, occurred_at)` is unique so the same statement or event sent
    twice is stored once; `occurred_at` is part of the key so the PostgreSQL table can be
    range-partitioned by month without changing it (see README, "Event store").
    """

    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="+")
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="+")
    item = models.ForeignKey(
        Item, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    verb = models.CharField(max_length=12, choices=Verb.choices)
    occurred_at = models.DateTimeField()
    received_at = models.DateTimeField()
    duration_seconds = models.FloatField(null=True, blank=True)
    # Scaled 0..1 where the source gives a scale; raw scores live in the source payload.
    score = models.FloatField(null=True, blank=True)
    success = models.BooleanField(null=True, blank=True)
    source = models.CharField(max_length=10, choices=Source.choices)
    source_id = models.CharField(max_length=255)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["course", "source", "source_id", "occurred_at"], name="activity_source_key"
            ),
        ]
        indexes = [
            models.Index(fields=["course", "occurred_at"], name="activity_course_time"),
            models.Index(fields=["person", "course", "occurred_at"], name="activity_person_time"),
        ]

    def __str__(self) -> str:
        return f"{self.person_id} {self.verb} at {self.occurred_at:%Y-%m-%d %H:%M}"


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

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["deployment", "statement_id"], name="xapi_statement_id"
            ),
        ]

    def __str__(self) -> str:
        return str(self.statement_id)


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
