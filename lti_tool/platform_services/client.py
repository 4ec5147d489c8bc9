"""Calls to a platform's LTI Advantage services (NRPS, AGS): the only place that makes them.

Built on pylti1p3's ServiceConnector, with its gaps owned here rather than at call sites:
access tokens are cached per platform and scope set until shortly before they expire (pylti1p3
keeps them forever, per object); every request has a timeout; `Link` headers are parsed
without lower-casing the URLs (pylti1p3 lower-cases them, which breaks case-sensitive paging
URLs); 429 and 5xx answers and connection errors are retried with exponential backoff and full
jitter, honouring `Retry-After`; a 401 drops the cached token and retries once.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import requests
from django.conf import settings
from django.core.cache import cache
from pylti1p3.service_connector import ServiceConnector

from lti_tool.launch.flow import FinishlineRegistration, http_session
from lti_tool.models import Course, Platform
from lti_tool.ops import metrics

log = logging.getLogger("finishline.services")

NRPS_SCOPE = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"
AGS_LINEITEM = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem"
AGS_LINEITEM_READ = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem.readonly"
AGS_RESULT_READ = "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly"
AGS_SCORE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
NRPS_MEDIA = "application/vnd.ims.lti-nrps.v2.membershipcontainer+json"
LINEITEM_MEDIA = "application/vnd.ims.lis.v2.lineitem+json"
LINEITEMS_MEDIA = "application/vnd.ims.lis.v2.lineitemcontainer+json"
RESULTS_MEDIA = "application/vnd.ims.lis.v2.resultcontainer+json"
SCORE_MEDIA = "application/vnd.ims.lis.v1.score+json"
TOKEN_MARGIN_SECONDS = 60
# A page of a roster or of results: large courses answer with several megabytes.
MAX_BYTES = 32 * 1024 * 1024


class PlatformUnavailable(Exception):
    """The platform did not answer usefully after retries: try the whole sync later."""


class PlatformRefused(Exception):
    """The platform refused the request (4xx other than 401/429): retrying will not help."""

    def __init__(self, *args: object) -> None:
        super().__init__(*args)
        metrics.PROVIDER_ERRORS.labels("lms").inc()


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 5
    base_delay: float = 0.5
    max_delay: float = 30.0
    sleep: Callable[[float], None] = time.sleep

    def delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(retry_after, self.max_delay)
        return random.uniform(0, min(self.max_delay, self.base_delay * 2**attempt))


@dataclass(frozen=True)
class Page:
    body: Any
    next_url: str | None
    differences_url: str | None
    headers: Mapping[str, str]


def parse_retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


class FinishlineServiceConnector(ServiceConnector):
    """pylti1p3's connector with cached, expiring tokens, timeouts, retries and exact links."""

    def __init__(self, platform: Platform, policy: RetryPolicy | None = None) -> None:
        super().__init__(
            FinishlineRegistration(platform), requests_session=http_session(max_bytes=MAX_BYTES)
        )
        self.platform = platform
        self.policy = policy or RetryPolicy()

    def _token_cache_key(self, scopes: list[str]) -> str:
        digest = hashlib.sha256("|".join(sorted(scopes)).encode()).hexdigest()[:32]
        return f"finishline:service-token:{self.platform.pk}:{digest}"

    def get_access_token(self, scopes: Any) -> str:
        key = self._token_cache_key(list(scopes))
        # The expiry travels with the token: a cache's own TTL is only an upper bound.
        cached: tuple[str, float] | None = cache.get(key)
        if cached is not None and cached[1] > time.time():
            return cached[0]
        token, expires_in = self._fetch_token(sorted(scopes))
        lifetime = max(1, expires_in - TOKEN_MARGIN_SECONDS)
        cache.set(key, (token, time.time() + lifetime), lifetime)
        return token

    def _fetch_token(self, scopes: list[str]) -> tuple[str, int]:
        registration = self._registration
        now = int(time.time())
        audience = registration.get_auth_audience() or registration.get_auth_token_url()
        assertion = self.encode_jwt(
            {
                "iss": str(registration.get_client_id()),
                "sub": str(registration.get_client_id()),
                "aud": str(audience),
                "iat": now - 5,
                "exp": now + 60,
                "jti": f"finishline-{now}-{random.getrandbits(64):x}",
            },
            str(registration.get_tool_private_key()),
            {"kid": str(registration.get_kid())},
        )
        response = self._send(
            "POST",
            str(registration.get_auth_token_url()),
            data={
                "grant_type": "client_credentials",
                "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                "client_assertion": assertion,
                "scope": " ".join(scopes),
            },
        )
        try:
            body = response.json()
            return str(body["access_token"]), int(body.get("expires_in", 3600))
        except (ValueError, KeyError, TypeError) as exc:
            raise PlatformRefused(
                "The platform's token endpoint answered without a token."
            ) from exc

    def forget_token(self, scopes: list[str]) -> None:
        cache.delete(self._token_cache_key(scopes))

    def _send(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        """One HTTP call with timeouts and retries on 429, 5xx and connection errors."""
        timeout = settings.FINISHLINE["HTTP_TIMEOUT"]
        for attempt in range(self.policy.attempts):
            retry_after = None
            try:
                response = self._requests_session.request(method, url, timeout=timeout, **kwargs)
            except requests.RequestException as exc:
                problem = f"{type(exc).__name__}: {exc}"
            else:
                if response.status_code < 400:
                    return response
                if response.status_code != 429 and response.status_code < 500:
                    raise PlatformRefused(
                        f"{method} {url} answered {response.status_code}: {response.text[:300]}"
                    )
                problem = f"HTTP {response.status_code}"
                retry_after = parse_retry_after(response.headers.get("Retry-After"))
            if attempt + 1 < self.policy.attempts:
                wait = self.policy.delay(attempt, retry_after)
                log.warning(
                    "platform_retry platform=%s url=%s problem=%s wait=%.2f",
                    self.platform.pk,
                    url,
                    problem,
                    wait,
                )
                self.policy.sleep(wait)
        metrics.PROVIDER_ERRORS.labels("lms").inc()
        raise PlatformUnavailable(f"{method} {url} failed {self.policy.attempts} times: {problem}")

    def request(
        self,
        method: str,
        url: str,
        *,
        scopes: list[str],
        accept: str,
        body: Any = None,
        content_type: str = "",
    ) -> Page:
        """An authorised service request; a 401 refreshes the token once."""
        for refreshed in (False, True):
            headers = {"Authorization": f"Bearer {self.get_access_token(scopes)}", "Accept": accept}
            if content_type:
                headers["Content-Type"] = content_type
            data = json.dumps(body) if body is not None else None
            try:
                response = self._send(method, url, headers=headers, data=data)
            except PlatformRefused as exc:
                if " answered 401" in str(exc) and not refreshed:
                    self.forget_token(scopes)
                    continue
                raise
            links = response.links  # requests keeps the URLs exactly as the platform sent them
            return Page(
                body=response.json() if response.content else None,
                next_url=links.get("next", {}).get("url"),
                differences_url=links.get("differences", {}).get("url"),
                headers=dict(response.headers),
            )
        raise PlatformRefused(f"{method} {url}: the platform refused a fresh token")

    def make_service_request(
        self,
        scopes: Any,
        url: str,
        is_post: bool = False,
        data: str | None = None,
        content_type: str = "application/json",
        accept: str = "application/json",
        case_insensitive_headers: bool = False,
    ) -> Any:
        """pylti1p3's entry point, routed through ours (for its NRPS/AGS helper classes)."""
        page = self.request(
            "POST" if is_post else "GET",
            url,
            scopes=list(scopes),
            accept=accept,
            body=json.loads(data) if data else None,
            content_type=content_type if is_post else "",
        )
        return {"headers": page.headers, "body": page.body, "next_page_url": page.next_url}


def connector_for(course: Course, policy: RetryPolicy | None = None) -> FinishlineServiceConnector:
    return FinishlineServiceConnector(course.deployment.platform, policy)


def membership_pages(
    course: Course, *, url: str | None = None, policy: RetryPolicy | None = None
) -> Iterator[Page]:
    """Every page of the course's NRPS membership container, following `next` exactly."""
    if not (url or course.nrps_url):
        raise PlatformRefused("The platform gave this course no roster service.")
    connector = connector_for(course, policy)
    next_url: str | None = url or course.nrps_url
    while next_url:
        page = connector.request("GET", next_url, scopes=[NRPS_SCOPE], accept=NRPS_MEDIA)
        yield page
        next_url = page.next_url


def list_lineitems(course: Course, policy: RetryPolicy | None = None) -> list[dict[str, Any]]:
    connector = connector_for(course, policy)
    items: list[dict[str, Any]] = []
    url: str | None = course.ags_lineitems_url
    while url:
        page = connector.request("GET", url, scopes=[AGS_LINEITEM_READ], accept=LINEITEMS_MEDIA)
        items.extend(page.body or [])
        url = page.next_url
    return items


def results_url(lineitem_url: str) -> str:
    base, _, query = lineitem_url.partition("?")
    return f"{base.rstrip('/')}/results" + (f"?{query}" if query else "")


def list_results(
    course: Course, lineitem_url: str, policy: RetryPolicy | None = None
) -> list[dict[str, Any]]:
    connector = connector_for(course, policy)
    results: list[dict[str, Any]] = []
    url: str | None = results_url(lineitem_url)
    while url:
        page = connector.request("GET", url, scopes=[AGS_RESULT_READ], accept=RESULTS_MEDIA)
        results.extend(page.body or [])
        url = page.next_url
    return results


def create_lineitem(
    course: Course, lineitem: Mapping[str, Any], policy: RetryPolicy | None = None
) -> dict[str, Any]:
    page = connector_for(course, policy).request(
        "POST",
        course.ags_lineitems_url,
        scopes=[AGS_LINEITEM],
        accept=LINEITEM_MEDIA,
        body=dict(lineitem),
        content_type=LINEITEM_MEDIA,
    )
    return dict(page.body or {})


def update_lineitem(
    course: Course, url: str, lineitem: Mapping[str, Any], policy: RetryPolicy | None = None
) -> dict[str, Any]:
    page = connector_for(course, policy).request(
        "PUT",
        url,
        scopes=[AGS_LINEITEM],
        accept=LINEITEM_MEDIA,
        body=dict(lineitem),
        content_type=LINEITEM_MEDIA,
    )
    return dict(page.body or {})


def post_score(
    course: Course, lineitem_url: str, score: Mapping[str, Any], policy: RetryPolicy | None = None
) -> None:
    base, _, query = lineitem_url.partition("?")
    url = f"{base.rstrip('/')}/scores" + (f"?{query}" if query else "")
    connector_for(course, policy).request(
        "POST",
        url,
        scopes=[AGS_SCORE],
        accept="application/json",
        body=dict(score),
        content_type=SCORE_MEDIA,
    )
