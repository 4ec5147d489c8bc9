"""The interventions outbox, contact preferences and the advisor inbox.

Every message to a learner, manager or advisor is first a row in `OutboundMessage` with an
idempotency key, written in the same transaction as the decision that caused it; dispatchers
claim rows with a lease and send them, so a message is neither lost nor sent twice when a
worker dies or two run at once.
"""

from __future__ import annotations

from django.db import models

from completion.models import Item
from lti_tool.models import Course, Deployment, Membership, Person


class Channel(models.TextChoices):
    EMAIL = "email", "Email"
    SMS = "sms", "SMS"
    CHAT = "chat", "Chat webhook"
    INBOX = "inbox", "Advisor inbox"


class ContactPreference(models.Model):
    """How a person may be reached. SMS needs an explicit opt-in; opt-outs apply at once."""

    person = models.OneToOneField(Person, on_delete=models.CASCADE, related_name="contact")
    phone = models.CharField(max_length=32, blank=True)
    sms_opt_in = models.BooleanField(default=False)
    email_opt_out = models.BooleanField(default=False)
    sms_opt_out = models.BooleanField(default=False)
    # Staff may take one digest a day instead of a message per event.
    daily_digest = models.BooleanField(default=False)
    # Staff: a Slack or Teams incoming-webhook URL for alerts about their learners.
    chat_webhook_url = models.URLField(max_length=500, blank=True)
    quiet_hours_start = models.TimeField(null=True, blank=True)
    quiet_hours_end = models.TimeField(null=True, blank=True)
    # The language messages should be in (a BCP 47 tag); blank: the LMS's locale.
    language = models.CharField(max_length=20, blank=True)
    # SMS goes only to a number the person proved is theirs with a code sent to it.
    phone_verified_at = models.DateTimeField(null=True, blank=True)
    phone_code_hash = models.CharField(max_length=128, blank=True)
    phone_code_expires_at = models.DateTimeField(null=True, blank=True)
    # The learner agrees to be suggested as a study partner to peers at the same point.
    study_partner_opt_in = models.BooleanField(default=False)
    # Learner messages go to the chat webhook instead of email.
    prefers_chat = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"contact preferences of {self.person_id}"


class OutboundMessage(models.Model):
    """One message to send, exactly once."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        BOUNCED = "bounced", "Bounced"
        SUPPRESSED = "suppressed", "Suppressed"

    idempotency_key = models.CharField(max_length=200, unique=True)
    deployment = models.ForeignKey(Deployment, on_delete=models.CASCADE, related_name="+")
    course = models.ForeignKey(Course, on_delete=models.CASCADE, null=True, blank=True)
    membership = models.ForeignKey(
        Membership, on_delete=models.CASCADE, null=True, blank=True, related_name="messages"
    )
    channel = models.CharField(max_length=10, choices=Channel.choices)
    to_address = models.CharField(max_length=500)
    subject = models.CharField(max_length=300, blank=True)
    body_text = models.TextField()
    body_html = models.TextField(blank=True)
    # What caused the message (playbook step, instructor action, reminder), for outcomes.
    reason = models.CharField(max_length=100, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    not_before = models.DateTimeField()
    lease_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    provider_message_id = models.CharField(max_length=200, blank=True)
    last_error = models.TextField(blank=True)
    # Which of the recipient's contact preferences decided the channel, time or suppression.
    decided_by = models.CharField(max_length=300, blank=True)
    # The language the message was written in (a BCP 47 tag), chosen from the recipient's.
    language = models.CharField(max_length=20, blank=True)
    # The message's tracked link (`/m/<click_token>/`): an unguessable token, the one place
    # it leads (stored here, never read from the URL), and when and how often it was followed.
    click_token = models.CharField(max_length=64, unique=True, null=True, blank=True)
    click_target = models.URLField(max_length=2000, blank=True)
    clicked_at = models.DateTimeField(null=True, blank=True)
    click_count = models.PositiveIntegerField(default=0)
    # An email's own reply address (`reply+<reply_token>@<reply domain>`), given when it is
    # sent; and when the recipient first replied (by email or SMS).
    reply_token = models.CharField(max_length=64, unique=True, null=True, blank=True)
    replied_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["status", "not_before"], name="outbox_due"),
            models.Index(fields=["membership", "created_at"], name="outbox_membership"),
        ]

    def __str__(self) -> str:
        return f"{self.channel} to {self.to_address} ({self.status})"


class InboundReply(models.Model):
    """A learner's reply to one of their messages, received through a provider's webhook."""

    message = models.ForeignKey(OutboundMessage, on_delete=models.CASCADE, related_name="replies")
    membership = models.ForeignKey(Membership, on_delete=models.CASCADE, related_name="replies")
    channel = models.CharField(max_length=10, choices=Channel.choices)
    from_address = models.CharField(max_length=500)
    text = models.TextField()
    # The provider's id of the reply (Twilio MessageSid, the email's Message-Id): a webhook
    # the provider retries is recorded once.
    provider_id = models.CharField(max_length=300, blank=True)
    # A STOP-style keyword: the learner opted out of SMS; not counted as a response.
    opted_out = models.BooleanField(default=False)
    # False for an email from an address other than the one the message went to: kept for
    # staff, but not counted as the learner's response.
    from_learner = models.BooleanField(default=True)
    received_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "provider_id"],
                condition=~models.Q(provider_id=""),
                name="reply_once_per_provider_id",
            ),
        ]
        indexes = [models.Index(fields=["membership", "received_at"], name="reply_membership")]

    def __str__(self) -> str:
        return f"{self.channel} reply to message {self.message_id}"


class InboundEmailToken(models.Model):
    """The token of an inbound email post whose signature was taken. The signature covers
    only timestamp and token, so a second post with a seen token is refused: kept until the
    timestamp it came with is too old to be accepted anyway."""

    token = models.CharField(max_length=255, unique=True)
    received_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"inbound email token {self.token[:8]}…"


class AdvisorCase(models.Model):
    """An escalation a person must close: owner, due date, notes and a resolution."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        CONTACTED = "contacted", "Contacted"
        RESOLVED = "resolved", "Resolved"
        # Over its owner's daily cap: listed in their daily case digest, not opened one by one.
        BATCHED = "batched", "In the daily digest"

    membership = models.ForeignKey(Membership, on_delete=models.CASCADE, related_name="cases")
    owner = models.ForeignKey(
        Person, on_delete=models.SET_NULL, null=True, blank=True, related_name="owned_cases"
    )
    reason = models.CharField(max_length=300)
    context = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.OPEN)
    due_at = models.DateTimeField()
    opened_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution = models.TextField(blank=True)
    # Its value when opened, as the caseload ranked it: the step's escalation tier (higher is
    # more urgent) and how far along the learner was (0-100).
    tier = models.PositiveSmallIntegerField(default=1)
    percent_complete = models.FloatField(default=0.0)
    # When a batched case went out in its owner's daily case digest.
    digest_sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["owner", "status", "due_at"], name="case_inbox")]

    def __str__(self) -> str:
        return f"case {self.pk}: {self.reason}"


class CaseNote(models.Model):
    case = models.ForeignKey(AdvisorCase, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(Person, on_delete=models.SET_NULL, null=True, related_name="+")
    text = models.TextField()
    at = models.DateTimeField()

    def __str__(self) -> str:
        return f"note on case {self.case_id}"


class PlaybookSetting(models.Model):
    """A course's choices for one default playbook: on or off, and per-step overrides."""

    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="playbook_settings")
    playbook = models.CharField(max_length=40)
    enabled = models.BooleanField(default=True)
    # {"<step key>": {"enabled": false, "channels": ["email"], "delay": 3}}
    step_overrides = models.JSONField(default=dict, blank=True)
    dry_run = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["course", "playbook"], name="playbook_setting_course"),
        ]

    def __str__(self) -> str:
        return f"{self.playbook} in course {self.course_id}"


class MessageTemplate(models.Model):
    """A course's wording of one template (the defaults live in `messages.py`), in the
    course's default language (`language` blank) or a translation into one language."""

    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="message_templates")
    key = models.CharField(max_length=60)
    language = models.CharField(max_length=20, blank=True)
    subject = models.CharField(max_length=300)
    body = models.TextField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["course", "key", "language"], name="message_template_course_key_lang"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.key} ({self.language})" if self.language else self.key


class Experiment(models.Model):
    """An A/B test of one playbook step: message, channel, timing or no-message variants."""

    class Consent(models.TextChoices):
        NONE = "none", "No consent asked (service improvement)"
        OPT_OUT = "opt_out", "Everyone unless they opt out"
        OPT_IN = "opt_in", "Only learners who opt in"

    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="experiments")
    step = models.CharField(max_length=60)
    name = models.CharField(max_length=200)
    # [{"key": "a", "weight": 1, "template": "…", "channels": ["sms"], "delay_hours": 0,
    #   "none": false}]
    arms = models.JSONField()
    holdout_share = models.FloatField(default=0.0)
    requires_consent = models.BooleanField(default=False)  # = consent_mode is opt-in
    consent_mode = models.CharField(max_length=8, choices=Consent.choices, default=Consent.NONE)
    metric = models.CharField(max_length=20, default="reengaged_48h")
    active = models.BooleanField(default=True)
    started_at = models.DateTimeField()
    # Stop rule: no new learners after this day, or once each arm has this many.
    ends_on = models.DateField(null=True, blank=True)
    max_per_arm = models.PositiveIntegerField(null=True, blank=True)
    stopped_at = models.DateTimeField(null=True, blank=True)
    adopted_arm = models.CharField(max_length=40, blank=True)
    created_by = models.CharField(max_length=255, blank=True)

    def __str__(self) -> str:
        return self.name


class ExperimentConsent(models.Model):
    experiment = models.ForeignKey(Experiment, on_delete=models.CASCADE, related_name="consents")
    membership = models.ForeignKey(Membership, on_delete=models.CASCADE, related_name="+")
    consented = models.BooleanField()
    at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["experiment", "membership"], name="consent_once"),
        ]

    def __str__(self) -> str:
        return f"consent {self.consented} to {self.experiment_id}"


class Intervention(models.Model):
    """One step of a playbook for one learner in one episode: planned, sent, or held back."""

    class Status(models.TextChoices):
        SENT = "sent", "Sent"
        SCHEDULED = "scheduled", "Scheduled"
        SUPPRESSED = "suppressed", "Suppressed"
        SUPERSEDED = "superseded", "Superseded"
        HOLDOUT = "holdout", "Hold-out"
        DRY_RUN = "dry_run", "Dry run"

    membership = models.ForeignKey(
        Membership, on_delete=models.CASCADE, related_name="interventions"
    )
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="+")
    playbook = models.CharField(max_length=40)
    step = models.CharField(max_length=60)
    episode = models.CharField(max_length=120)
    tier = models.PositiveSmallIntegerField(default=1)
    channels = models.JSONField(default=list)
    status = models.CharField(max_length=12, choices=Status.choices)
    detail = models.CharField(max_length=300, blank=True)
    experiment = models.ForeignKey(Experiment, on_delete=models.SET_NULL, null=True, blank=True)
    arm = models.CharField(max_length=40, blank=True)
    planned_at = models.DateTimeField()
    send_at = models.DateTimeField(null=True, blank=True)
    case = models.ForeignKey(AdvisorCase, on_delete=models.SET_NULL, null=True, blank=True)
    # Outcome: did the learner come back within 48 h / 7 days of the send?
    reengaged_48h = models.BooleanField(null=True, blank=True)
    reengaged_7d = models.BooleanField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["membership", "step", "episode"], name="intervention_once_per_episode"
            ),
        ]
        indexes = [models.Index(fields=["course", "planned_at"], name="intervention_course_time")]

    def __str__(self) -> str:
        return f"{self.step} for {self.membership_id} ({self.status})"


class BulkMessage(models.Model):
    """A staff member's message to every learner of a roster filter ("Message these N
    learners"): the wording, who was chosen at preview, and what became of each (queued,
    scheduled, suppressed and why)."""

    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="+")
    by = models.ForeignKey(Person, on_delete=models.SET_NULL, null=True, related_name="+")
    subject = models.CharField(max_length=300)
    body = models.TextField()
    # The roster filter ({"tier": "red", ...}) and the learners it matched at preview.
    filters = models.JSONField(default=dict, blank=True)
    membership_ids = models.JSONField(default=list)
    created_at = models.DateTimeField()  # previewed: the recipients were frozen then
    sent_at = models.DateTimeField(null=True, blank=True)  # None: a draft, not sent
    finished_at = models.DateTimeField(null=True, blank=True)
    queued = models.PositiveIntegerField(default=0)  # to go now
    scheduled = models.PositiveIntegerField(default=0)  # held by quiet hours or the throttle
    suppressed = models.PositiveIntegerField(default=0)
    # {"opted out of email": 3, "paused until 2026-03-20": 1}
    suppressed_reasons = models.JSONField(default=dict, blank=True)

    def __str__(self) -> str:
        return f"message to {len(self.membership_ids)} learners of {self.course_id}"


class Snooze(models.Model):
    """Staff asked Finishline to leave a learner alone until a date."""

    membership = models.ForeignKey(Membership, on_delete=models.CASCADE, related_name="snoozes")
    until = models.DateTimeField()
    reason = models.CharField(max_length=300, blank=True)
    by = models.CharField(max_length=255)
    at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["membership", "until"], name="snooze_membership")]

    def __str__(self) -> str:
        return f"snoozed {self.membership_id} until {self.until:%Y-%m-%d}"


# --- Business outcomes: satisfaction surveys, enrolment records, attribution settings --------


class SurveyInvitation(models.Model):
    """One satisfaction survey sent to one learner at one moment (completion or not)."""

    class Moment(models.TextChoices):
        COMPLETED = "completed", "At completion"
        NOT_COMPLETED = "not_completed", "At confirmed non-completion"

    membership = models.ForeignKey(
        Membership, on_delete=models.CASCADE, related_name="survey_invitations"
    )
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="+")
    moment = models.CharField(max_length=16, choices=Moment.choices)
    # Why the moment came (criteria met, withdrawn, deadline passed), in plain words.
    cause = models.CharField(max_length=100, blank=True)
    message = models.ForeignKey(
        OutboundMessage, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    sent_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["membership", "moment"], name="survey_once_per_moment"),
        ]
        indexes = [models.Index(fields=["course", "moment"], name="survey_course_moment")]

    def __str__(self) -> str:
        return f"{self.moment} survey for {self.membership_id}"


class SurveyResponse(models.Model):
    """The answer to an invitation. One row per invitation makes each link single-use."""

    invitation = models.OneToOneField(
        SurveyInvitation, on_delete=models.CASCADE, related_name="response"
    )
    score = models.PositiveSmallIntegerField()
    comment = models.TextField(blank=True)
    answered_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(score__lte=10), name="survey_score_0_10"),
        ]

    def __str__(self) -> str:
        return f"{self.score}/10 for invitation {self.invitation_id}"


class EnrolmentRecord(models.Model):
    """An enrolment (payment) or refund from the organisation's own records (CSV import)."""

    class Kind(models.TextChoices):
        ENROLMENT = "enrolment", "Enrolment"
        REFUND = "refund", "Refund"

    deployment = models.ForeignKey(Deployment, on_delete=models.CASCADE, related_name="+")
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="+")
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    on = models.DateField()
    amount = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    imported_at = models.DateTimeField()
    imported_by = models.CharField(max_length=255, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["person", "course", "kind", "on"], name="enrolment_record_once"
            ),
        ]
        indexes = [models.Index(fields=["deployment", "kind"], name="enrolment_record_kind")]

    def __str__(self) -> str:
        return f"{self.kind} of {self.person_id} in {self.course_id} on {self.on}"


class AttributionSettings(models.Model):
    """A deployment's stated economics: the "assumed" inputs of revenue attribution."""

    deployment = models.OneToOneField(
        Deployment, on_delete=models.CASCADE, related_name="attribution_settings"
    )
    currency = models.CharField(max_length=3, default="USD")
    programme_fee = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    support_cost_per_learner = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    followup_cost_per_learner = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    baseline_start = models.DateField(null=True, blank=True)
    baseline_end = models.DateField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"attribution settings of {self.deployment_id}"


class CourseSupport(models.Model):
    """A course's help for struggling learners (where to book a 1-on-1) and its kind of
    programme, whose preset sets the playbooks' absence thresholds and response windows."""

    class Program(models.TextChoices):
        COHORT = "cohort", "Cohort (a group on a shared schedule)"
        SELF_PACED = "self_paced", "Self-paced"
        COMPLIANCE = "compliance", "Compliance (a deadline that must be met)"

    course = models.OneToOneField(Course, on_delete=models.CASCADE, related_name="support")
    booking_url = models.URLField(max_length=500, blank=True)
    program = models.CharField(max_length=12, choices=Program.choices, default=Program.COHORT)
    # The language of the course's messages when a learner has none (blank: English).
    language = models.CharField(max_length=20, blank=True)

    def __str__(self) -> str:
        return f"support of {self.course_id}"


class AssessmentHelp(models.Model):
    """What an instructor offers a learner who fails an assessment: resources (one a line) and
    a practice item; the difficulty playbook's messages carry them."""

    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="+")
    item = models.OneToOneField(Item, on_delete=models.CASCADE, related_name="help")
    resources = models.TextField(blank=True)
    practice_url = models.URLField(max_length=500, blank=True)

    def __str__(self) -> str:
        return f"help for item {self.item_id}"
