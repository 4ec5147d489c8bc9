"""Providers' webhooks for learners' replies: Twilio's inbound SMS and a Mailgun-style inbound
parse of email sent to a message's reply address. Each refuses (403, logged) a post whose
signature does not check out (or, for email, whose signature was already used). A reply no
message can take is logged and answered so the provider does not retry it: 406 for email
(Mailgun's "rejected"), an empty TwiML 200 for SMS."""

from __future__ import annotations

import logging
import time

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from interventions.delivery import replies
from interventions.delivery.channels import email, sms

log = logging.getLogger("finishline.replies")
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


@csrf_exempt  # signed by the provider instead
@require_POST
def inbound_sms(request: HttpRequest) -> HttpResponse:
    """Twilio's "a message comes in" webhook: From and Body, signed with the auth token."""
    url = settings.TOOL_BASE_URL + request.get_full_path()  # the URL set up at the provider
    params = [(k, v) for k in request.POST for v in request.POST.getlist(k)]
    given = request.headers.get("X-Twilio-Signature", "")
    if not sms.signature_ok(url, params, settings.FINISHLINE_SMS["AUTH_TOKEN"], given):
        return _refused(request, "sms", "the X-Twilio-Signature header is missing or wrong")
    try:
        replies.record_sms_reply(
            from_number=request.POST.get("From", ""),
            body=request.POST.get("Body", ""),
            provider_id=request.POST.get("MessageSid", ""),
        )
    except replies.UnknownReply as exc:
        _unmatched("sms", exc)
    return HttpResponse(EMPTY_TWIML, content_type="text/xml")


@csrf_exempt  # signed by the provider instead
@require_POST
def inbound_email(request: HttpRequest) -> HttpResponse:
    """An inbound-parse route's POST: recipient, sender, the text, and Mailgun's signature
    (timestamp, token, signature) keyed with the webhook signing key."""
    post = request.POST
    if not email.inbound_signature_ok(
        signing_key=settings.FINISHLINE_REPLIES["INBOUND_EMAIL_SIGNING_KEY"],
        timestamp=post.get("timestamp", ""), token=post.get("token", ""),
        signature=post.get("signature", ""), now=time.time(),
    ):  # fmt: skip
        return _refused(request, "email", "the signature is missing, wrong or too old")
    fields = [(k, v) for k in post for v in post.getlist(k)]
    if email.is_auto_reply(email.inbound_headers(fields, post.get("message-headers", ""))):
        log.info("reply_ignored channel=email why=an auto-reply")
        return HttpResponse("ok, ignored: an auto-reply", content_type="text/plain")
    try:
        replies.record_email_reply(
            recipient=post.get("recipient", ""),
            senders=(post.get("from", ""), post.get("sender", "")),
            text=post.get("stripped-text", "") or post.get("body-plain", ""),
            provider_id=post.get("Message-Id", ""),
            signature_token=post.get("token", ""),
        )
    except replies.ReplayedPost as exc:
        return _refused(request, "email", str(exc))
    except replies.UnknownReply as exc:
        _unmatched("email", exc)
        return HttpResponse(f"Rejected: {exc}.\n", status=406, content_type="text/plain")
    return HttpResponse("ok", content_type="text/plain")


def _refused(request: HttpRequest, channel: str, why: str) -> HttpResponse:
    log.warning(
        "reply_refused channel=%s from=%s why=%s", channel, request.META.get("REMOTE_ADDR"), why
    )
    return HttpResponse(f"Refused: {why}.\n", status=403, content_type="text/plain")


def _unmatched(channel: str, exc: replies.UnknownReply) -> None:
    log.warning("reply_unmatched channel=%s reason=%s why=%s", channel, exc.reason, exc)
