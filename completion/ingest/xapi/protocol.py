"""What every xAPI resource shares on the wire (Communication part, 1.0.3): the request as the
resource sees it, authentication, the version header, parameter checks and the answer's headers.

`serve` runs one resource handler through the common pipeline: unpack the request (an
Alternate Request Syntax POST becomes the request it stands for, its form fields becoming
headers, parameters and body), then refuse in this order: body too large (413), credential
(401), rate (429), version header (400), method (405), then the handler's own parameter and
body checks (400, 404, 409, 412). Every answer carries `X-Experience-API-Version`; HEAD answers
are GET's without a body. Interface code: the handlers' logic lives in the store and pure
modules.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from completion.ingest.limits import bad_text
from lti_tool.keys import credentials

log = logging.getLogger("finishline.xapi")
VERSION = "1.0.3"
DEFAULT_MAX_BODY = 5 * 1024 * 1024
CLIENT_VERSION = re.compile(r"^1\.0(?:\.\d+)?$")
METHODS = ("GET", "HEAD", "PUT", "POST", "DELETE")
# Form fields of an Alternate Request Syntax POST that stand for headers (Communication 1.3).
HEADER_FIELDS = frozenset(
    {
        "authorization",
        "x-experience-api-version",
        "content-type",
        "content-length",
        "if-match",
        "if-none-match",
    }
)
MAX_FORM_FIELDS = 100


class BadRequest(ValueError):
    """Why a request is refused; the message is sent back. 400 unless `status` says else."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class XapiRequest:
    """A request as a resource handler sees it, whichever syntax it came in."""

    method: str
    path: str
    params: Mapping[str, str]
    headers: Mapping[str, str]  # lower-case names
    body: bytes

    @property
    def content_type(self) -> str:
        """The media type, lower case, without parameters ("" when none was sent)."""
        return self.headers.get("content-type", "").split(";")[0].strip().lower()

    def header(self, name: str) -> str:
        return self.headers.get(name.lower(), "")


Handler = Callable[[XapiRequest, credentials.Principal], HttpResponse]


def answer(response: HttpResponse) -> HttpResponse:
    response["X-Experience-API-Version"] = VERSION
    return response


def error(message: str, status: int, **headers: str) -> HttpResponse:
    response = json_answer({"error": message}, status=status)
    for key, value in headers.items():
        response[key.replace("_", "-")] = value
    return answer(response)


def json_answer(value: Any, status: int = 200) -> HttpResponse:
    return HttpResponse(json.dumps(value), status=status, content_type="application/json")


def max_body() -> int:
    return int(settings.FINISHLINE.get("XAPI_MAX_BODY", DEFAULT_MAX_BODY))


def serve(request: HttpRequest, *, methods: Iterable[str], handler: Handler) -> HttpResponse:
    """Run `handler` for an authenticated, versioned request to a resource taking `methods`."""
    try:
        xreq = unpack(request)
    except BadRequest as exc:
        return error(str(exc), exc.status)
    principal = _principal(xreq)
    if principal is None:
        return error(
            "valid HTTP Basic credentials are required",
            401,
            WWW_Authenticate='Basic realm="Finishline xAPI"',
        )
    if not credentials.allow_request(principal):
        retry = str(60 - int(time.time()) % 60)
        return error("too many requests for this credential", 429, Retry_After=retry)
    if not CLIENT_VERSION.match(xreq.header("X-Experience-API-Version")):
        return error("the X-Experience-API-Version header must be 1.0 or 1.0.x", 400)
    allowed = tuple(methods)
    if xreq.method not in allowed:
        listed = ", ".join(allowed)
        return error(f"this resource takes {listed}", 405, Allow=listed)
    try:
        response = handler(xreq, principal)
    except BadRequest as exc:
        log.info(
            "xapi_refused credential=%s path=%s status=%s reason=%r",
            principal.credential_id,
            xreq.path,
            exc.status,
            str(exc),
        )
        response = error(str(exc), exc.status)
    if xreq.method == "HEAD":
        response.content = b""
    return answer(response)


def unpack(request: HttpRequest) -> XapiRequest:
    """The request as its handler must see it (Alternate Request Syntax unpacked)."""
    body = read_body(request)
    params = query_params(request.META.get("QUERY_STRING", ""))
    headers = {k.lower(): v for k, v in request.headers.items()}
    method = (request.method or "GET").upper()
    if "method" not in params:
        return XapiRequest(method, request.path, params, headers, body)
    if method != "POST":
        raise BadRequest("the `method` parameter is only for POST (Alternate Request Syntax)")
    if set(params) != {"method"}:
        raise BadRequest(
            "an Alternate Request Syntax request carries only `method` in its query; "
            "other parameters go in the form body"
        )
    wanted = params["method"].upper()
    if wanted not in METHODS:
        raise BadRequest(f"method must be one of {', '.join(METHODS)}")
    media = headers.get("content-type", "").split(";")[0].strip().lower()
    if media != "application/x-www-form-urlencoded":
        raise BadRequest(
            "an Alternate Request Syntax body must be application/x-www-form-urlencoded"
        )
    fields = _form_fields(body)
    inner_headers = {k: v for k, v in headers.items() if k not in {"content-type"}}
    inner_params: dict[str, str] = {}
    content = b""
    for name, value in fields:
        if name.lower() in HEADER_FIELDS:
            inner_headers[name.lower()] = value
        elif name == "content":
            content = value.encode()
        elif name in inner_params:
            raise BadRequest(f"the form gives {name!r} twice")
        else:
            inner_params[name] = value
    inner_headers.setdefault("content-type", "application/json")
    inner_headers.pop("content-length", None)
    return XapiRequest(wanted, request.path, inner_params, inner_headers, content)


def read_body(request: HttpRequest) -> bytes:
    """The raw body, or 413 when larger than the configured limit (read from the stream, so
    Django's own upload limit, which answers 400, is never reached)."""
    limit = max_body()
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError as exc:
        raise BadRequest("Content-Length is not a number") from exc
    if declared > limit:
        raise BadRequest(f"the body is larger than the limit of {limit} bytes", 413)
    body = request.read(limit + 1)
    if len(body) > limit:
        raise BadRequest(f"the body is larger than the limit of {limit} bytes", 413)
    return body


def query_params(query: str) -> dict[str, str]:
    """Query parameters, each at most once, as text PostgreSQL can store."""
    try:
        pairs = parse_qsl(query, keep_blank_values=True, errors="strict")
    except UnicodeDecodeError as exc:
        raise BadRequest("the query string is not UTF-8") from exc
    return _unique(pairs, "the query")


def _form_fields(body: bytes) -> list[tuple[str, str]]:
    try:
        text = body.decode()
        pairs = parse_qsl(
            text, keep_blank_values=True, errors="strict", max_num_fields=MAX_FORM_FIELDS
        )
    except UnicodeDecodeError as exc:
        raise BadRequest("the form body is not UTF-8") from exc
    except ValueError as exc:
        raise BadRequest(f"the form body has more than {MAX_FORM_FIELDS} fields") from exc
    for name, value in pairs:
        if problem := bad_text(name) or bad_text(value):
            raise BadRequest(f"form field {name[:40]!r}: {problem}")
    return pairs


def _unique(pairs: list[tuple[str, str]], where: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for name, value in pairs:
        if name in found:
            raise BadRequest(f"{where} gives the parameter {name[:40]!r} twice")
        if problem := bad_text(name) or bad_text(value):
            raise BadRequest(f"parameter {name[:40]!r}: {problem}")
        found[name] = value
    return found


def _principal(xreq: XapiRequest) -> credentials.Principal | None:
    scheme, _, token = xreq.header("Authorization").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(token.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    key, _, secret = decoded.partition(":")
    return credentials.authenticate(kind="xapi", key=key, secret=secret)


def check_params(
    xreq: XapiRequest, allowed: Iterable[str], required: Iterable[str] = ()
) -> Mapping[str, str]:
    """The parameters, refusing unknown names (case counts, Communication 3.2) and missing
    required ones."""
    known = set(allowed)
    for name in xreq.params:
        if name not in known:
            raise BadRequest(
                f"unknown parameter {name[:40]!r} for {xreq.method} "
                f"(parameter names are case-sensitive; this one takes {', '.join(sorted(known))})"
                if known
                else f"{xreq.method} takes no parameters here, not {name[:40]!r}"
            )
    for name in required:
        if name not in xreq.params:
            raise BadRequest(f"the {name} parameter is required")
    return xreq.params


def authority(principal: credentials.Principal) -> dict[str, Any]:
    """The authority the LRS sets on statements sent with this credential."""
    return {
        "objectType": "Agent",
        "name": f"Finishline credential {principal.credential_id}",
        "account": {"homePage": settings.TOOL_BASE_URL, "name": str(principal.credential_id)},
    }
