"""Tenancy, identity, keys and the audit trail: the foundation every app builds on.

A Deployment is the tenant boundary: every Course, Person and credential hangs off one,
and every read in the product is scoped to the deployment of the current launch.
"""

from __future__ import annotations

from django.db import models


class Platform(models.Model):
    """An LMS registration: one issuer + client id pair."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        PENDING = "pending", "Pending approval"
        DISABLED = "disabled", "Disabled"

    class Product(models.TextChoices):
        CANVAS = "canvas", "Canvas"
        MOODLE = "moodle", "Moodle"
        OTHER = "other", "Other"

    name = models.CharField(max_length=200, blank=True)
    issuer = models.CharField(max_length=255)
    client_id = models.CharField(max_length=255)
    product = models.CharField(max_length=20, choices=Product.choices, default=Product.OTHER)
    auth_login_url = models.URLField(max_length=500)
    auth_token_url = models.URLField(max_length=500)
    # The `aud` of client assertions when the token endpoint's audience differs from its URL.
    auth_token_audience = models.CharField(max_length=500, blank=True)
    jwks_url = models.URLField(max_length=500)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.ACTIVE)
    # The platform's openid-configuration as fetched at dynamic registration, kept for audit.
    openid_configuration = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["issuer", "client_id"], name="platform_issuer_client"),
        ]

    def __str__(self) -> str:
        return self.name or f"{self.issuer} ({self.client_id})"


class PlatformKeySet(models.Model):
    """The platform's JWKS as last fetched; refetched on expiry or on an unknown kid."""

    platform = models.OneToOneField(Platform, on_delete=models.CASCADE, related_name="key_set")
    keys = models.JSONField(default=dict)
    fetched_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"Key set of {self.platform_id} fetched {self.fetched_at:%Y-%m-%d %H:%M}"


class Deployment(models.Model):
    """The tenant: one placement of the tool on a platform (an account, a site)."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        PENDING = "pending", "Pending approval"
        DISABLED = "disabled", "Disabled"

    platform = models.ForeignKey(Platform, on_delete=models.PROTECT, related_name="deployments")
    deployment_id = models.CharField(max_length=255)
    name = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.ACTIVE)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["platform", "deployment_id"], name="deployment_platform_id"
            ),
        ]

    def __str__(self) -> str:
        return self.name or f"{self.platform} / {self.deployment_id}"


class Course(models.Model):
    """An LTI context, with the service endpoints the platform advertised at launch."""

    deployment = models.ForeignKey(Deployment, on_delete=models.PROTECT, related_name="courses")
    context_id = models.CharField(max_length=255)
    title = models.CharField(max_length=255, blank=True)
    label = models.CharField(max_length=255, blank=True)
    nrps_url = models.URLField(max_length=1000, blank=True)
    ags_lineitems_url = models.URLField(max_length=1000, blank=True)
    ags_scopes = models.JSONField(default=list, blank=True)
    # Canvas's own course id ($Canvas.course.id, from the launch's custom parameters): Live
    # Events name courses by it, never by the LTI context id.
    canvas_course_id = models.CharField(max_length=32, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    retired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["deployment", "context_id"], name="course_context"),
        ]
        indexes = [
            models.Index(
                fields=["deployment", "canvas_course_id"],
                name="course_canvas_id",
                condition=~models.Q(canvas_course_id=""),
            ),
        ]

    def __str__(self) -> str:
        return self.title or self.context_id


class ResourceLink(models.Model):
    """A placement of the tool inside a course (a link, a navigation entry)."""

    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="resource_links")
    resource_link_id = models.CharField(max_length=255)
    title = models.CharField(max_length=255, blank=True)
    ags_lineitem_url = models.URLField(max_length=1000, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["course", "resource_link_id"], name="resource_link_course"
            ),
        ]

    def __str__(self) -> str:
        return self.title or self.resource_link_id


class Person(models.Model):
    """A user of one deployment, identified by the platform's `sub`."""

    deployment = models.ForeignKey(Deployment, on_delete=models.PROTECT, related_name="people")
    sub = models.CharField(max_length=255)
    name = models.CharField(max_length=255, blank=True)
    given_name = models.CharField(max_length=255, blank=True)
    family_name = models.CharField(max_length=255, blank=True)
    email = models.EmailField(max_length=255, blank=True)
    sourced_id = models.CharField(max_length=255, blank=True)
    locale = models.CharField(max_length=20, blank=True)
    timezone = models.CharField(max_length=64, blank=True)
    # Reporting attributes (department, role, location, hire cohort) from custom claims,
    # NRPS or an HR roster import.
    attributes = models.JSONField(default=dict, blank=True)
    # Canvas's own user id ($Canvas.user.id, from the launch's custom parameters): Live Events
    # name people by it (urn:instructure:canvas:user:N), never by the LTI sub.
    canvas_user_id = models.CharField(max_length=32, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["deployment", "sub"], name="person_deployment_sub"),
        ]
        indexes = [
            models.Index(fields=["deployment", "email"], name="person_email"),
            models.Index(fields=["deployment", "sourced_id"], name="person_sourced_id"),
            models.Index(
                fields=["deployment", "canvas_user_id"],
                name="person_canvas_id",
                condition=~models.Q(canvas_user_id=""),
            ),
        ]

    def __str__(self) -> str:
        return self.name or self.email or self.sub


class Role(models.TextChoices):
    """What a person may do in a course; mapped from LTI role URIs in `claims.py`."""

    ADMIN = "admin", "Administrator"
    INSTRUCTOR = "instructor", "Instructor"
    TEACHING_ASSISTANT = "ta", "Teaching assistant"
    ADVISOR = "advisor", "Advisor"
    LEARNER = "learner", "Learner"


class Membership(models.Model):
    """A person's enrolment in a course, with its role and roster status."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        INACTIVE = "inactive", "Inactive"
        DELETED = "deleted", "Deleted"

    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="memberships")
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20, choices=Role.choices)
    lti_roles = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.ACTIVE)
    enrolled_at = models.DateTimeField()
    status_changed_at = models.DateTimeField()
    last_launch_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["course", "person"], name="membership_course_person"),
        ]
        indexes = [models.Index(fields=["course", "role", "status"], name="membership_roster")]

    def __str__(self) -> str:
        return f"{self.person_id} in {self.course_id} as {self.role}"


class MembershipChange(models.Model):
    """Each role or status change of a membership, dated, for pacing and compliance history."""

    class Source(models.TextChoices):
        LAUNCH = "launch", "LTI launch"
        NRPS = "nrps", "Roster sync"
        ADMIN = "admin", "Administrator"

    membership = models.ForeignKey(Membership, on_delete=models.CASCADE, related_name="changes")
    field = models.CharField(max_length=20)
    old_value = models.CharField(max_length=50, blank=True)
    new_value = models.CharField(max_length=50)
    changed_at = models.DateTimeField()
    source = models.CharField(max_length=20, choices=Source.choices)

    class Meta:
        indexes = [models.Index(fields=["membership", "changed_at"], name="membership_change_at")]

    def __str__(self) -> str:
        return f"{self.field}: {self.old_value} -> {self.new_value}"


class ToolKey(models.Model):
    """An RSA key pair of the tool. The JWKS publishes the current and the next key."""

    class State(models.TextChoices):
        NEXT = "next", "Next"
        CURRENT = "current", "Current"
        RETIRED = "retired", "Retired"

    kid = models.CharField(max_length=64, unique=True)
    private_key_pem = models.TextField()
    public_jwk = models.JSONField()
    state = models.CharField(max_length=20, choices=State.choices)
    created_at = models.DateTimeField(auto_now_add=True)
    activated_at = models.DateTimeField(null=True, blank=True)
    retired_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.kid} ({self.state})"


class LaunchSession(models.Model):
    """A launch's working session: the pages it opens carry its secret, never a URL.

    Only a SHA-256 of the secret is stored. The session slides forward while the person works
    (`expires_at`), never past `ends_at`; `revoked_at` ends it at once. `binding_hash` holds
    the hash of the partitioned cookie set at launch: once a request has come back with that
    cookie, requests without it are refused (the browser keeps cookies in this frame).
    """

    secret_hash = models.CharField(max_length=64, unique=True)
    deployment = models.ForeignKey(Deployment, on_delete=models.CASCADE, related_name="+")
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="launch_sessions")
    course = models.ForeignKey(Course, on_delete=models.CASCADE, null=True, related_name="+")
    membership = models.ForeignKey(
        Membership, on_delete=models.CASCADE, null=True, related_name="launch_sessions"
    )
    platform_id = models.BigIntegerField()
    role = models.CharField(max_length=20, choices=Role.choices)
    message_type = models.CharField(max_length=50)
    frame_origin = models.CharField(max_length=255, blank=True)
    binding_hash = models.CharField(max_length=64, blank=True)
    cookie_seen = models.BooleanField(default=False)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField(db_index=True)
    ends_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"launch session {self.pk} of person {self.person_id}"


class RegistrationLink(models.Model):
    """A one-time dynamic registration link an admin issued; a registration through it is
    active at once. Only a SHA-256 of its code is stored."""

    code_hash = models.CharField(max_length=64, unique=True)
    created_by = models.CharField(max_length=255)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    platform = models.ForeignKey(Platform, on_delete=models.SET_NULL, null=True, blank=True)

    def __str__(self) -> str:
        return f"registration link {self.pk} ({'used' if self.used_at else 'open'})"


class UsedNonce(models.Model):
    """A nonce already accepted; kept until its id_token has expired, refused if seen again."""

    platform = models.ForeignKey(Platform, on_delete=models.CASCADE)
    nonce = models.CharField(max_length=255)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["platform", "nonce"], name="used_nonce_platform"),
        ]

    def __str__(self) -> str:
        return f"nonce {self.nonce[:8]}…"


class ServiceCredential(models.Model):
    """A credential issued to a deployment for inbound data (xAPI, Caliper) or the REST API."""

    class Kind(models.TextChoices):
        XAPI = "xapi", "xAPI (HTTP Basic)"
        CALIPER = "caliper", "Caliper (bearer token)"
        API = "api", "REST API (token)"

    deployment = models.ForeignKey(Deployment, on_delete=models.CASCADE, related_name="credentials")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    name = models.CharField(max_length=200, blank=True)
    key = models.CharField(max_length=64, unique=True)
    secret_hash = models.CharField(max_length=128)
    # Requests per minute before 429; 0 means the site default.
    rate_limit_per_minute = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.kind} credential {self.key}"


class AuditEntry(models.Model):
    """One append-only, hash-chained record of a change of consequence."""

    deployment = models.ForeignKey(
        Deployment, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    at = models.DateTimeField()
    actor = models.CharField(max_length=255)
    action = models.CharField(max_length=100)
    object_type = models.CharField(max_length=100, blank=True)
    object_id = models.CharField(max_length=100, blank=True)
    data = models.JSONField(default=dict, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["deployment", "at"], name="audit_deployment_at"),
            models.Index(fields=["object_type", "object_id"], name="audit_object"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.action} by {self.actor}"


class AuditHead(models.Model):
    """A single row locked while appending, so concurrent writers cannot fork the chain."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    last_hash = models.CharField(max_length=64)

    def __str__(self) -> str:
        return self.last_hash


class WebhookSubscription(models.Model):
    """A receiver (CRM, HR system) of one deployment's events, signed with its own secret."""

    deployment = models.ForeignKey(
        Deployment, on_delete=models.CASCADE, related_name="webhook_subscriptions"
    )
    url = models.URLField(max_length=1000)
    # Shown once, when the subscription is created; the receiver keeps it to verify signatures.
    secret = models.CharField(max_length=128)
    # Event names this receiver wants; an empty list means every event.
    events = models.JSONField(default=list, blank=True)
    active = models.BooleanField(default=True)
    description = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.description or self.url


class WebhookDelivery(models.Model):
    """One event on its way to one subscription, with the outcome of its last attempt."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed"

    subscription = models.ForeignKey(
        WebhookSubscription, on_delete=models.CASCADE, related_name="deliveries"
    )
    event = models.CharField(max_length=100)
    event_id = models.UUIDField()
    payload = models.JSONField()
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    # When the next attempt is due; while an attempt is in flight, the end of its lease.
    next_attempt_at = models.DateTimeField()
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_response = models.TextField(blank=True)
    last_error = models.TextField(blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["subscription", "event_id"], name="webhook_delivery_once"
            ),
        ]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="webhook_due")]

    def __str__(self) -> str:
        return f"{self.event} {self.event_id} -> {self.subscription_id} ({self.status})"


class RetentionPolicy(models.Model):
    """How many years a deployment keeps learning records (events, scores, messages).

    Certificates and the audit trail are legal records and are never purged by age.
    """

    deployment = models.OneToOneField(
        Deployment, on_delete=models.CASCADE, related_name="retention_policy"
    )
    years = models.PositiveSmallIntegerField(default=7)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.CharField(max_length=255, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(years__gte=1, years__lte=100), name="retention_years_range"
            ),
        ]

    def __str__(self) -> str:
        return f"keep {self.years} years ({self.deployment_id})"


class WorkerHeartbeat(models.Model):
    """When a worker cluster last ran the heartbeat task (one row per cluster and host, stamped
    every minute). `/readyz/` wants one fresh row."""

    name = models.CharField(max_length=100, unique=True)  # the cluster's name and host
    beat_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} at {self.beat_at:%Y-%m-%d %H:%M:%S}"
