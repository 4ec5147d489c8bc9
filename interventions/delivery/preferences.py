"""Contact preferences: channels, digest, language, time zone, quiet hours and a verified
phone. Opt-outs and opt-ins take effect at once and are audited; staff corrections carry a
reason. The planner reads them through `day_facts` and records which one decided a message."""

from __future__ import annotations

import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db import transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django_q.tasks import async_task

from interventions.delivery.outbox import enqueue_message
from interventions.models import Channel, ContactPreference, OutboundMessage
from lti_tool.audit.trail import append_audit
from lti_tool.models import Person
from lti_tool.outbound import AddressRefused
from lti_tool.outbound import check_url as check_outbound_url


@transaction.atomic
def opt_out(*, person: Person, channel: str, actor: str) -> ContactPreference:
    """Stop a channel for a person, and suppress what is still queued for it."""
    preference, _ = ContactPreference.objects.get_or_create(person=person)
    if channel == Channel.EMAIL:
        preference.email_opt_out = True
    elif channel == Channel.SMS:
        preference.sms_opt_out, preference.sms_opt_in = True, False
    preference.save()
    OutboundMessage.objects.filter(
        membership__person=person,
        channel=channel,
        status__in=[OutboundMessage.Status.PENDING],
    ).update(
        status=OutboundMessage.Status.SUPPRESSED,
        last_error="recipient opted out",
        decided_by=f"{channel} opt-out (unsubscribe link)",
    )
    append_audit(
        actor=actor,
        action="contact.opted_out",
        obj=preference,
        deployment=person.deployment,
        data={"channel": channel},
    )
    return preference


CODE_LIFETIME = timedelta(minutes=15)
CODE_SALT = "finishline.phone-code"


class PreferenceRefused(Exception):
    """A choice that cannot be taken as given (an unknown time zone, a wrong code)."""


@dataclass(frozen=True)
class ContactChoices:
    """What a person (or staff correcting it) chose on the contact page."""

    email: bool
    sms: bool
    daily_digest: bool
    language: str
    timezone: str
    quiet_start: time | None
    quiet_end: time | None
    chat_webhook_url: str = ""
    study_partner: bool = False  # may be suggested to peers at the same point
    prefers_chat: bool = False  # learner messages to the chat webhook instead of email


def contact_of(person: Person) -> ContactPreference:
    """The person's preferences, created unsaved-empty when they have none; the phone from
    the LMS or HR roster (`phone` attribute) pre-fills an empty number."""
    preference = ContactPreference.objects.filter(person=person).first()
    if preference is None:
        preference = ContactPreference(person=person)
    if not preference.phone:
        preference.phone = str(person.attributes.get("phone", ""))[:32]
    return preference


def _check_zone(name: str) -> str:
    if name:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise PreferenceRefused(f"{name!r} is not a time zone (try Europe/Paris)") from exc
    return name


@transaction.atomic
def save_contact_choices(
    *, person: Person, choices: ContactChoices, actor: str, reason: str = ""
) -> ContactPreference:
    """Store a person's channels, digest, language, time zone and quiet hours. Audited.

    SMS is on only when the person is the actor and the number is verified; staff
    (`reason` required) may turn SMS off but never on."""
    staff = actor != f"learner:{person.pk}"
    if staff and not reason.strip():
        raise PreferenceRefused("Give a reason for the correction; it goes into the audit trail.")
    preference = contact_of(person)
    turning_on = choices.sms and not preference.sms_opt_in
    if choices.sms and (preference.phone_verified_at is None or (staff and turning_on)):
        raise PreferenceRefused("SMS needs the learner's own opt-in and a verified number.")
    if choices.prefers_chat and not choices.chat_webhook_url:
        raise PreferenceRefused("Chat instead of email needs a chat webhook address.")
    if (choices.quiet_start is None) != (choices.quiet_end is None):
        raise PreferenceRefused("Quiet hours need both a start and an end.")
    person.timezone = _check_zone(choices.timezone)
    person.save(update_fields=["timezone", "updated_at"])
    preference.email_opt_out = not choices.email
    preference.sms_opt_in, preference.sms_opt_out = choices.sms, not choices.sms
    preference.daily_digest = choices.daily_digest
    preference.language = choices.language[:20]
    preference.quiet_hours_start, preference.quiet_hours_end = (
        choices.quiet_start,
        choices.quiet_end,
    )
    if choices.chat_webhook_url:
        try:
            check_outbound_url(choices.chat_webhook_url)
        except AddressRefused as exc:
            raise PreferenceRefused(f"The chat webhook address is refused: {exc}") from exc
    preference.chat_webhook_url = choices.chat_webhook_url
    preference.study_partner_opt_in = choices.study_partner
    preference.prefers_chat = choices.prefers_chat
    preference.save()
    if not choices.email:
        _suppress_queued(person, Channel.EMAIL, "email switched off in contact preferences")
    if not choices.sms:
        _suppress_queued(person, Channel.SMS, "SMS switched off in contact preferences")
    append_audit(
        actor=actor,
        action="contact.corrected" if staff else "contact.chosen",
        obj=preference,
        deployment=person.deployment,
        data={**_described(choices), "reason": reason},
    )
    return preference


@transaction.atomic
def correct_phone(*, person: Person, phone: str, actor: str, reason: str) -> ContactPreference:
    """Staff: set a person's number. A new number is unverified, so SMS stops until the
    person verifies it. Audited with the reason."""
    if not reason.strip():
        raise PreferenceRefused("Give a reason for the correction; it goes into the audit trail.")
    preference = contact_of(person)
    number = _normalised(phone)
    if number != preference.phone:
        preference.phone, preference.phone_verified_at = number, None
        preference.sms_opt_in = False
        preference.save()
        _suppress_queued(person, Channel.SMS, "phone number changed, not verified yet")
    append_audit(
        actor=actor,
        action="contact.phone_corrected",
        obj=preference,
        deployment=person.deployment,
        data={"reason": reason, "phone_set": bool(number)},
    )
    return preference


def _normalised(phone: str) -> str:
    number = re.sub(r"[\s().-]", "", phone)
    if number and not re.fullmatch(r"\+?[0-9]{6,15}", number):
        raise PreferenceRefused("Write the number with its country code, e.g. +44 7700 900123.")
    return number


@transaction.atomic
def send_phone_code(*, person: Person, phone: str, now: datetime | None = None) -> str:
    """Send a six-digit code by SMS (through the outbox and the SMS adapter) to prove the
    number is the person's; returns the outbox idempotency key."""
    now = now or timezone.now()
    preference = contact_of(person)
    number = _normalised(phone)
    if not number:
        raise PreferenceRefused("Enter your mobile number first.")
    code = f"{secrets.randbelow(1_000_000):06d}"
    preference.phone, preference.phone_verified_at = number, None
    preference.sms_opt_in = False
    preference.phone_code_hash = _code_hash(person, number, code)
    preference.phone_code_expires_at = now + CODE_LIFETIME
    preference.save()
    key = f"phone-code:{person.pk}:{now.timestamp():.0f}"
    enqueue_message(
        idempotency_key=key,
        deployment=person.deployment,
        channel=Channel.SMS,
        to_address=number,
        body_text=f"Your Finishline code is {code}. It expires in 15 minutes.",
        reason="phone verification",
        decided_by="verification code requested on the contact page",
    )
    transaction.on_commit(lambda: async_task("interventions.tasks.dispatch_outbox"))
    return key


@transaction.atomic
def verify_phone(*, person: Person, code: str, now: datetime | None = None) -> ContactPreference:
    """Mark the number verified when the code matches and has not expired. Audited."""
    now = now or timezone.now()
    preference = contact_of(person)
    expires = preference.phone_code_expires_at
    if not preference.phone_code_hash or expires is None or now > expires:
        raise PreferenceRefused("The code has expired; ask for a new one.")
    if not hmac.compare_digest(
        preference.phone_code_hash, _code_hash(person, preference.phone, code.strip())
    ):
        raise PreferenceRefused("That code is not the one we sent.")
    preference.phone_verified_at, preference.phone_code_hash = now, ""
    preference.phone_code_expires_at = None
    preference.save()
    append_audit(
        actor=f"learner:{person.pk}",
        action="contact.phone_verified",
        obj=preference,
        deployment=person.deployment,
        data={},
    )
    return preference


def _code_hash(person: Person, phone: str, code: str) -> str:
    return salted_hmac(CODE_SALT, f"{person.pk}:{phone}:{code}").hexdigest()


def _suppress_queued(person: Person, channel: str, why: str) -> None:
    OutboundMessage.objects.filter(
        membership__person=person, channel=channel, status=OutboundMessage.Status.PENDING
    ).update(status=OutboundMessage.Status.SUPPRESSED, last_error=why, decided_by=why)


def _described(choices: ContactChoices) -> dict[str, object]:
    return {
        "email": choices.email,
        "sms": choices.sms,
        "daily_digest": choices.daily_digest,
        "language": choices.language,
        "timezone": choices.timezone,
        "quiet_hours": (
            f"{choices.quiet_start:%H:%M}-{choices.quiet_end:%H:%M}"
            if choices.quiet_start and choices.quiet_end
            else ""
        ),
        "chat": bool(choices.chat_webhook_url),
        "study_partner": choices.study_partner,
        "prefers_chat": choices.prefers_chat,
    }
