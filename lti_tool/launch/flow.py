"""The LTI 1.3 login and launch, on pylti1p3's Django classes, with their gaps owned here.

pylti1p3 2.0 never consumes the nonce, switches the audience check off and never checks
`azp`, fetches platform JWKS with no timeout (and, cached, never refetches on an unknown kid),
and keeps state and nonce in a session cookie that cross-site iframes often lose. This module
is the only importer of its launch classes and replaces exactly those steps: the state is
signed and short-lived and carries the nonce (`LoginState`; nothing stored at login), a used
nonce is stored (`UsedNonce`), the signature check is PyJWT with every claim check on, and
platform keys come from `platform_keys` (cached, one bounded refetch).
Validation only reads; the nonce is used up (`consume_nonce`, or on PostgreSQL in the same
statement that reads the launch's person and course: `services.record_launch`) in the
transaction that records the launch, so a refused launch writes nothing.
"""

from __future__ import annotations

import logging
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast
from urllib.parse import urlencode

import jwt
import requests
from django.conf import settings
from django.core import signing
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone
from pylti1p3.contrib.django.message_launch import DjangoMessageLaunch
from pylti1p3.deployment import Deployment as LtiDeployment
from pylti1p3.registration import Registration
from pylti1p3.tool_config.abstract import ToolConfAbstract

from lti_tool import claims as lti_claims
from lti_tool import outbound
from lti_tool.keys.platform import (
    KeySetUnavailable,
    UnknownKey,
    platform_public_key,
)
from lti_tool.keys.tool import current_key
from lti_tool.models import Deployment, Platform, UsedNonce
from lti_tool.origins import origin_of

log = logging.getLogger("finishline.launch")

STATE_COOKIE_PREFIX = "lti1p3-state-"
LOGIN_STATE_TTL = timedelta(minutes=10)
# How long a consumed nonce is kept at most: the login state it belongs to is gone long before.
MAX_NONCE_LIFETIME = timedelta(days=1)


class LaunchRejected(Exception):
    """A login or launch that must not proceed. `reason` is safe to show to the person."""

    def __init__(
        self, reason: str, *, code: str, status: int = 400, frame_origins: tuple[str, ...] = ()
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code
        self.status = status
        # Origins that may frame the refusal page (a pending platform's, to tell it so).
        self.frame_origins = frame_origins


class FinishlineRegistration(Registration):
    """A pylti1p3 registration that signs with the tool's current database key."""

    def __init__(self, platform: Platform) -> None:
        super().__init__()
        key = current_key()
        self._kid = key.kid
        self.set_issuer(platform.issuer).set_client_id(platform.client_id)
        self.set_auth_login_url(platform.auth_login_url).set_auth_token_url(platform.auth_token_url)
        self.set_key_set_url(platform.jwks_url).set_tool_private_key(key.private_key_pem)
        if platform.auth_token_audience:
            self.set_auth_audience(platform.auth_token_audience)

    def get_kid(self) -> str:
        return self._kid


class DatabaseToolConf(ToolConfAbstract[Any]):
    """pylti1p3's registration lookup, answered from Platform and Deployment rows."""

    def check_iss_has_one_client(self, iss: str) -> bool:
        return False

    def check_iss_has_many_clients(self, iss: str) -> bool:
        return True

    # pylti1p3 declares these as returning a Registration but treats a falsy one as "none".
    def find_registration_by_issuer(self, iss: str, *args: Any, **kwargs: Any) -> Registration:
        platform = find_platform(iss, None)
        return FinishlineRegistration(platform) if platform else None  # type: ignore[return-value]

    def find_registration_by_params(
        self, iss: str, client_id: str | None, *args: Any, **kwargs: Any
    ) -> Registration:
        platform = find_platform(iss, client_id)
        return FinishlineRegistration(platform) if platform else None  # type: ignore[return-value]

    def find_deployment(self, iss: str, deployment_id: str) -> LtiDeployment | None:
        return self.find_deployment_by_params(iss, deployment_id, None)

    def find_deployment_by_params(
        self, iss: str, deployment_id: str, client_id: str | None, *args: Any, **kwargs: Any
    ) -> LtiDeployment | None:
        platform = find_platform(iss, client_id)
        if platform is None:
            return None
        if find_deployment(platform, deployment_id) is None:
            return None
        return LtiDeployment().set_deployment_id(deployment_id)


# Platforms and deployments are read on every login and launch and change rarely: each
# process keeps what it read for LOOKUP_SECONDS (registration and approval forget it at once
# in their own process; other processes see a change within that time). Launch sessions
# re-check deployment and platform status on every request regardless.
LOOKUP_SECONDS = 30.0
_LOOKUPS: dict[tuple[str, ...], tuple[float, Any]] = {}


def forget_lookups() -> None:
    _LOOKUPS.clear()


def _remembered(key: tuple[str, ...], load: Any) -> Any:
    now = time.monotonic()
    found = _LOOKUPS.get(key)
    if found is not None and found[0] > now:
        return found[1]
    value = load()
    _LOOKUPS[key] = (now + LOOKUP_SECONDS, value)
    return value


def find_platform(issuer: str, client_id: str | None) -> Platform | None:
    """The platform for an issuer (and client id, required when the issuer has several)."""

    def load() -> Platform | None:
        platforms = Platform.objects.filter(issuer=issuer)
        if client_id:
            platforms = platforms.filter(client_id=client_id)
        found = list(platforms[:2])
        return found[0] if len(found) == 1 else None

    platform: Platform | None = _remembered(("platform", issuer, client_id or ""), load)
    return platform


def find_deployment(platform: Platform, deployment_id: str) -> Deployment | None:
    def load() -> Deployment | None:
        return Deployment.objects.filter(platform=platform, deployment_id=deployment_id).first()

    deployment: Deployment | None = _remembered(
        ("deployment", str(platform.pk), deployment_id), load
    )
    return deployment


def platform_by_id(platform_id: int) -> Platform | None:
    def load() -> Platform | None:
        return Platform.objects.filter(pk=platform_id).first()

    platform: Platform | None = _remembered(("platform-id", str(platform_id)), load)
    return platform


def http_session(*, max_bytes: int = outbound.DEFAULT_MAX_BYTES) -> requests.Session:
    """The guarded outbound client (`lti_tool.outbound`): no redirects, no private targets."""
    return outbound.session(max_bytes=max_bytes)


# --- Login (OIDC third-party-initiated) -------------------------------------------------


@dataclass(frozen=True)
class LoginRedirect:
    """Where to send the browser next, and the state cookie to set on the way."""

    auth_url: str
    state: str
    nonce: str
    storage_target: str
    platform_origin: str


# The login parameters a new top-level window needs to start the same login again.
RELOGIN_PARAMS = (
    "iss",
    "login_hint",
    "target_link_uri",
    "lti_message_hint",
    "lti_deployment_id",
    "client_id",
)


def begin_login(params: dict[str, str]) -> LoginRedirect:
    """Check an OIDC login initiation and record the state and nonce we expect back."""
    issuer, login_hint = params.get("iss", ""), params.get("login_hint", "")
    if not issuer or not login_hint:
        raise LaunchRejected("The login request lacks iss or login_hint.", code="login_params")
    platform = find_platform(issuer, params.get("client_id") or None)
    if platform is None:
        raise LaunchRejected(
            "This platform is not registered with Finishline.", code="unknown_issuer"
        )
    check_platform_active(platform)
    target = params.get("target_link_uri", "")
    if target and not is_tool_url(target):
        raise LaunchRejected("The target link is not a Finishline URL.", code="target_link_uri")
    nonce = secrets.token_urlsafe(32)
    storage_target = params.get("lti_storage_target", "")[:100]
    state = sign_state(nonce=nonce, platform_id=platform.pk, storage_target=storage_target)
    return LoginRedirect(
        auth_url=_auth_url(platform, params, state=state, nonce=nonce),
        state=state,
        nonce=nonce,
        storage_target=storage_target,
        platform_origin=origin_of(platform.auth_login_url),
    )


@dataclass(frozen=True)
class LoginState:
    """An OIDC login in flight, as its signed state says: the nonce expected back, the
    platform that was asked, and the platform-storage target offered at login (if any)."""

    state: str
    nonce: str
    platform_id: int
    storage_target: str


# The state is not stored: it is signed with the secret key (its own salt), so only this tool
# can have issued it, and it expires after LOGIN_STATE_TTL. It is bound to the browser by the
# state cookie (or platform storage) as before; a launch is single-use through its nonce
# (`UsedNonce`), which a reused state cannot change: the id_token must carry the state's nonce.
_STATE_SIGNER = signing.TimestampSigner(salt="finishline.lti.login-state", sep=".")


def sign_state(*, nonce: str, platform_id: int, storage_target: str) -> str:
    # "." separates, so the state is made of cookie-name characters (the state cookie's name).
    payload = {"n": nonce, "p": platform_id, "s": storage_target}
    return _STATE_SIGNER.sign_object(payload)


def read_state(state: str, *, max_age: timedelta | None = LOGIN_STATE_TTL) -> LoginState:
    """The login a state names. Raises LaunchRejected when it is not ours or has expired."""
    try:
        payload = _STATE_SIGNER.unsign_object(state, max_age=max_age)
    except signing.SignatureExpired as exc:
        raise LaunchRejected(
            "The login took too long; launch again.", code="state_expired"
        ) from exc
    except (signing.BadSignature, ValueError) as exc:
        raise LaunchRejected(
            "The launch has no matching login (state).", code="state_unknown"
        ) from exc
    return LoginState(
        state=state,
        nonce=str(payload["n"]),
        platform_id=int(payload["p"]),
        storage_target=str(payload["s"]),
    )


def _auth_url(platform: Platform, params: dict[str, str], *, state: str, nonce: str) -> str:
    auth_params = {
        "scope": "openid",
        "response_type": "id_token",
        "response_mode": "form_post",
        "prompt": "none",
        "client_id": platform.client_id,
        "redirect_uri": settings.TOOL_BASE_URL + "/lti/launch/",
        "state": state,
        "nonce": nonce,
        "login_hint": params["login_hint"],
    }
    if params.get("lti_message_hint"):
        auth_params["lti_message_hint"] = params["lti_message_hint"]
    separator = "&" if "?" in platform.auth_login_url else "?"
    return platform.auth_login_url + separator + urlencode(auth_params)


def relogin_query(params: dict[str, str]) -> str:
    """The login URL query that starts this login again in a new window."""
    return urlencode({k: params[k] for k in RELOGIN_PARAMS if params.get(k)})


def course_page_url(id_token: str, platform: Platform | None) -> str:
    """The LMS page a launch came from (its return_url), if it is on that platform's site.

    Read from an id_token whose browser binding failed, so its signature may not have been
    checked: the URL is offered as a link only when its origin is the platform's own.
    """
    if platform is None or not id_token:
        return ""
    try:
        body = jwt.decode(id_token, options={"verify_signature": False})
    except jwt.InvalidTokenError:
        return ""
    presentation = body.get(lti_claims.LAUNCH_PRESENTATION)
    url = presentation.get("return_url") if isinstance(presentation, dict) else None
    if not isinstance(url, str) or not url.startswith(("https://", "http://")):
        return ""
    allowed = {origin_of(platform.issuer), origin_of(platform.auth_login_url)}
    return url if origin_of(url) in allowed else ""


def is_tool_url(url: str) -> bool:
    return url.startswith(settings.TOOL_BASE_URL + "/")


def check_platform_active(platform: Platform) -> None:
    if platform.status != Platform.Status.ACTIVE:
        raise platform_inactive(platform)


def platform_inactive(platform: Platform) -> LaunchRejected:
    return LaunchRejected(
        "This installation is waiting for an administrator's approval, or is disabled.",
        code="platform_pending",
        status=403,
        frame_origins=(origin_of(platform.issuer), origin_of(platform.auth_login_url)),
    )


# --- Launch -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ValidatedLaunch:
    claims: lti_claims.LaunchClaims
    platform: Platform
    deployment: Deployment
    id_token: dict[str, Any]


# pylti1p3 wants a requests session at construction; every fetch it would make is replaced
# here, so one idle session serves all launches instead of building one per launch.
_UNUSED_SESSION = requests.Session()


class FinishlineMessageLaunch(DjangoMessageLaunch):
    """pylti1p3's Django launch with its validation steps replaced where they fall short.

    The order matters: nothing read from the token is trusted before its signature is
    checked against the keys of the platform that the login (state) named.
    """

    def __init__(self, request: HttpRequest, *, browser_bound: bool) -> None:
        super().__init__(  # type: ignore[no-untyped-call]
            request, DatabaseToolConf(), requests_session=_UNUSED_SESSION
        )
        self._browser_bound = browser_bound
        self._login_state: LoginState | None = None
        self._login_platform: Platform | None = None
        self._platform: Platform | None = None

    def validate(self) -> FinishlineMessageLaunch:
        """Every check; reads only (a JWKS refetch aside). The nonce is consumed later."""
        self._validated = True
        try:
            self.validate_jwt_format()
            self.validate_state()
            self.validate_registration()
            self.validate_jwt_signature()
            self.validate_message()
            self.validate_deployment()
            self.validate_nonce()
        except Exception:
            self._validated = False
            raise
        return self

    def validate_jwt_format(self) -> FinishlineMessageLaunch:
        try:
            super().validate_jwt_format()
        except Exception as exc:
            raise LaunchRejected("The launch token is not a JWT.", code="jwt_format") from exc
        # pylti1p3 types these as dicts, but they are whatever JSON the token carried.
        header: object = self._jwt["header"]
        body: object = self._jwt["body"]
        if not isinstance(header, dict) or not isinstance(body, dict):
            raise LaunchRejected("The launch token is not a JWT.", code="jwt_format")
        return self

    def validate_state(self) -> FinishlineMessageLaunch:
        login = read_state(str(self._request.get_param("state") or ""))
        if not self._browser_bound:
            raise LaunchRejected("The state is not bound to this browser.", code="state_unbound")
        platform = platform_by_id(login.platform_id)
        if platform is None:
            raise LaunchRejected("The launch has no matching login (state).", code="state_unknown")
        # Checked again, uncached, in the statement that consumes the nonce (`record_launch`).
        check_platform_active(platform)
        self._login_state = login
        self._login_platform = platform
        return self

    def _body(self) -> dict[str, Any]:
        """The decoded id_token (pylti1p3 types it as a TypedDict without the JWT claims)."""
        return cast(dict[str, Any], self._jwt["body"])

    def validate_registration(self) -> FinishlineMessageLaunch:
        """iss, aud and azp name the platform of the login and this tool's client id."""
        assert self._login_platform is not None
        platform = self._login_platform
        body = self._body()
        if body.get("iss") != platform.issuer:
            raise LaunchRejected(
                "The token's issuer is not the platform that logged in.", code="iss"
            )
        audience = body.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        if platform.client_id not in audiences:
            raise LaunchRejected("The token was not issued to Finishline (aud).", code="aud")
        azp = body.get("azp")
        if len(audiences) > 1 and azp is None:
            raise LaunchRejected(
                "The token names several audiences but no authorised party (azp).", code="azp"
            )
        if azp is not None and azp != platform.client_id:
            raise LaunchRejected("The token's authorised party is not Finishline.", code="azp")
        self._platform = platform
        self._registration = FinishlineRegistration(platform)
        return self

    def validate_jwt_signature(self) -> FinishlineMessageLaunch:
        assert self._platform is not None
        header = self._jwt["header"]
        if header.get("alg") != "RS256":
            raise LaunchRejected("The token is not signed with RS256.", code="alg")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise LaunchRejected("The launch token names no key (kid).", code="kid")
        try:
            key = platform_public_key(self._platform, kid)
        except UnknownKey as exc:
            raise LaunchRejected(
                "The launch is signed with a key the platform does not publish.", code="kid"
            ) from exc
        except KeySetUnavailable as exc:
            raise LaunchRejected(
                "The platform's key set could not be fetched; try again shortly.",
                code="jwks",
                status=502,
            ) from exc
        _verify(self._get_id_token(), key, self._platform)
        return self

    def validate_message(self) -> FinishlineMessageLaunch:
        assert self._platform is not None
        try:
            self._claims = lti_claims.LaunchClaims.from_id_token(
                self._body(), client_id=self._platform.client_id
            )
        except lti_claims.InvalidClaims as exc:
            raise LaunchRejected(
                f"The launch is not a valid LTI 1.3 message: {exc}.", code=exc.code
            ) from exc
        target = self._claims.target_link_uri
        if target and not is_tool_url(target):
            raise LaunchRejected(
                "The launch's target link is not a Finishline URL.", code="target_link_uri"
            )
        return self

    def validate_deployment(self) -> FinishlineMessageLaunch:
        assert self._platform is not None
        deployment = find_deployment(self._platform, self._claims.deployment_id)
        if deployment is None:
            raise LaunchRejected("This deployment is not registered.", code="deployment")
        if deployment.status != Deployment.Status.ACTIVE:
            raise LaunchRejected(
                "This deployment is waiting for an administrator's approval, or is disabled.",
                code="deployment_pending",
                status=403,
            )
        deployment.platform = self._platform
        self._deployment = deployment
        return self

    def validate_nonce(self) -> FinishlineMessageLaunch:
        """The nonce is the one this login issued (its single use is `consume_nonce`)."""
        assert self._login_state is not None
        if str(self._body()["nonce"]) != self._login_state.nonce:
            raise LaunchRejected("The launch's nonce does not match its login.", code="nonce")
        return self

    def result(self) -> ValidatedLaunch:
        assert self._platform is not None
        return ValidatedLaunch(
            claims=self._claims,
            platform=self._platform,
            deployment=self._deployment,
            id_token=dict(self._body()),
        )


_REQUIRED_JWT_CLAIMS = ["exp", "iat", "iss", "aud", "sub", "nonce"]


def _verify(id_token: str, key: Any, platform: Platform) -> None:
    """PyJWT's checks, all on: signature, exp/iat/nbf within the leeway, iss, aud."""
    leeway = settings.FINISHLINE["JWT_LEEWAY"]
    try:
        body = jwt.decode(
            id_token,
            key=key,
            algorithms=["RS256"],
            audience=platform.client_id,
            issuer=platform.issuer,
            leeway=leeway,
            options={"require": _REQUIRED_JWT_CLAIMS},
        )
    except jwt.ExpiredSignatureError as exc:
        raise LaunchRejected("The launch token has expired.", code="expired") from exc
    except jwt.ImmatureSignatureError as exc:
        raise LaunchRejected("The launch token is not valid yet.", code="future") from exc
    except jwt.InvalidSignatureError as exc:
        raise LaunchRejected("The launch token's signature is wrong.", code="signature") from exc
    except jwt.MissingRequiredClaimError as exc:
        raise LaunchRejected(
            f"The launch is not a valid LTI 1.3 message: {exc}.", code="claims"
        ) from exc
    except jwt.InvalidTokenError as exc:
        raise LaunchRejected(f"The launch token is invalid: {exc}.", code="jwt") from exc
    # PyJWT refuses a future iat too; kept explicit because this check is the contract.
    if float(body["iat"]) > timezone.now().timestamp() + leeway:
        raise LaunchRejected("The launch token was issued in the future.", code="future")


def validate_launch(request: HttpRequest) -> ValidatedLaunch:
    """Validate an id_token POST. Raises LaunchRejected; writes nothing for the launch."""
    if not request.POST.get("id_token"):
        raise LaunchRejected("The launch has no id_token.", code="no_id_token")
    state = request.POST.get("state", "")
    cookie_ok = bool(state) and request.COOKIES.get(STATE_COOKIE_PREFIX + state) == state
    browser_bound = cookie_ok or storage_checked(request, state)
    message_launch = FinishlineMessageLaunch(request, browser_bound=browser_bound)
    message_launch.validate()
    return message_launch.result()


def storage_checked(request: HttpRequest, state: str) -> bool:
    """The post comes from our own page after it found the state in platform storage.

    That page runs in the browser that started the login; only there does the platform's
    storage hold the state. A cross-site page can post `lti_storage_checked=1` too, but not
    with our Origin, so the flag counts only on a same-origin post.
    """
    if request.POST.get("lti_storage_checked") != "1":
        return False
    if not from_own_page(request):
        raise LaunchRejected(
            "The platform-storage check did not come from Finishline's own page.",
            code="storage_unverified",
            status=403,
        )
    try:
        return bool(read_state(state).storage_target)
    except LaunchRejected:
        return False


def from_own_page(request: HttpRequest) -> bool:
    origin = request.META.get("HTTP_ORIGIN")
    if origin is not None:
        return bool(origin == origin_of(settings.TOOL_BASE_URL))
    return bool(request.META.get("HTTP_SEC_FETCH_SITE") == "same-origin")


def nonce_row(launch: ValidatedLaunch) -> tuple[str, datetime]:
    """The launch's nonce and how long it must be kept as used."""
    latest = (timezone.now() + MAX_NONCE_LIFETIME).timestamp()
    expires = datetime.fromtimestamp(min(float(launch.id_token["exp"]), latest), tz=UTC)
    return str(launch.id_token["nonce"]), expires + timedelta(
        seconds=settings.FINISHLINE["JWT_LEEWAY"]
    )


def replayed() -> LaunchRejected:
    return LaunchRejected("This launch was already used (replayed nonce).", code="replay")


def consume_nonce(launch: ValidatedLaunch) -> None:
    """Use the launch's nonce once, if its platform is still active. Call inside the
    transaction that records the launch."""
    platform = Platform.objects.filter(pk=launch.platform.pk).only("status").first()
    if platform is None or platform.status != Platform.Status.ACTIVE:
        raise platform_inactive(launch.platform)
    nonce, expires = nonce_row(launch)
    try:
        # No savepoint: a duplicate aborts the caller's transaction, which is what a replay
        # must do (the caller's atomic block rolls back on the LaunchRejected raised here).
        with transaction.atomic(savepoint=False):
            UsedNonce.objects.create(platform=launch.platform, nonce=nonce, expires_at=expires)
    except IntegrityError as exc:
        raise replayed() from exc


def login_state_for(state: str) -> tuple[LoginState, Platform] | None:
    """The login a state names, with its platform, even expired (for the cookie-less pages)."""
    try:
        login = read_state(state, max_age=None)
    except LaunchRejected:
        return None
    platform = platform_by_id(login.platform_id)
    return (login, platform) if platform is not None else None


def purge_expired_nonces() -> int:
    """Delete expired used nonces (their tokens can no longer validate)."""
    deleted, _ = UsedNonce.objects.filter(expires_at__lt=timezone.now()).delete()
    return deleted
