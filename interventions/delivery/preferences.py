"""Contact preferences: opt-outs and opt-ins take effect at once and are audited."""

from __future__ import annotations

from django.db import transaction

from interventions.models import Channel, ContactPreference, OutboundMessage
from lti_tool.audit.trail import append_audit
from lti_tool.models import Person


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
    ).update(status=OutboundMessage.Status.SUPPRESSED, last_error="recipient opted out")
    append_audit(
        actor=actor,
        action="contact.opted_out",
        obj=preference,
        deployment=person.deployment,
        data={"channel": channel},
    )
    return preference
