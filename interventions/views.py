"""Public one-click unsubscribe (the link and List-Unsubscribe header of every email)."""

from __future__ import annotations

from django.core import signing
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from interventions.outbox import UNSUBSCRIBE_SALT
from interventions.preferences import opt_out
from lti_tool.models import Person


@csrf_exempt  # RFC 8058 one-click POSTs come from mail clients, without a CSRF token
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    try:
        data = signing.loads(token, salt=UNSUBSCRIBE_SALT)
    except signing.BadSignature:
        return render(
            request,
            "lti_tool/error.html",
            {
                "title": "This unsubscribe link is not valid",
                "reason": "The link is damaged. Use the link in your most recent email.",
            },
            status=400,
        )
    person = Person.objects.filter(pk=data["p"]).first()
    if request.method == "POST" and person is not None:
        opt_out(person=person, channel=data["c"], actor=f"unsubscribe:{person.pk}")
        return render(request, "interventions/unsubscribed.html", {"channel": data["c"]})
    return render(request, "interventions/unsubscribe.html", {"token": token, "channel": data["c"]})
