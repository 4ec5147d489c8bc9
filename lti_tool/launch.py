"""The LTI 1.3 login and launch, on pylti1p3's Django classes, with their gaps owned here.

pylti1p3 2.0 never consumes the nonce, switches the audience check off and never checks
`azp`, fetches platform JWKS with no timeout (and, cached, never refetches on an unknown kid),
and keeps state and nonce in a session cookie that cross-site iframes often lose. This module
is the only importer of its launch classes and replaces exactly those steps: state and nonce
live in the database (`LoginState`, `UsedNonce`), the signature check is PyJWT with every
claim check on, and the platform key set is cached with one refetch on an unknown kid.
Rejections raise `LaunchRejected`; nothing is written for a rejected launch.
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
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone
from pylti1p3.contrib.django.message_launch import DjangoMessageLaunch
from pylti1p3.deployment import Deployment as LtiDeployment
from pylti1p3.registration import Registration
from pylti1p3.tool_config.abstract import ToolConfAbstract

from lti_tool import claims as lti_claims
from lti_tool.keys import current_key
from lti_tool.models import Deployment, LoginState, Platform, PlatformKeySet, UsedNonce

log = logging.getLogger("finishline.launch")

STATE_COOKIE_PREFIX = "lti1p3-state-"
LOGIN_STATE_TTL = timedelta(minutes=10)
USER_AGENT = "Finishline-LTI/1.0"


class LaunchRejected(Exception):
    """A login or launch that must not proceed. `reason` is safe to show to the person."""

    def __init__(self, reason: str, *, code: str, status: int = 400) -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code
        self.status = status


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
        if not Deployment.objects.filter(platform=platform, deployment_id=deployment_id).exists():
            return None
        return LtiDeployment().set_deployment_id(deployment_id)


def find_platform(issuer: str, client_id: str | None) -> Platform | None:
    """The platform for an issuer (and client id, required when the issuer has several)."""
    platforms = Platform.objects.filter(issuer=issuer)
    if client_id:
        platforms = platforms.filter(client_id=client_id)
    found = list(platforms[:2])
    return found[0] if len(found) == 1 else None


def http_session() -> requests.Session:
    session = requests.Session()
    session.headers["User-Agent"] = USER_AGENT
    return session


# --- Login (OIDC third-party-initiated) -------------------------------------------------


@dataclass(frozen=True)
class LoginRedirect:
    """Where to send the browser next, and the state cookie to set on the way."""

    auth_url: str
    state: str
    nonce: str
    storage_target: str
    platform_origin: str


LOGIN_PARAMS = (
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
    if platform.status != Platform.Status.ACTIVE:
        raise LaunchRejected(
            "This installation is waiting for an administrator's approval.",
            code="platform_pending",
            status=403,
        )
    target = params.get("target_link_uri", "")
    if target and not target.startswith(settings.TOOL_BASE_URL + "/"):
        raise LaunchRejected("The target link is not a Finishline URL.", code="target_link_uri")
    state, nonce = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    storage_target = params.get("lti_storage_target", "")[:100]
    LoginState.objects.create(
        state=state,
        nonce=nonce,
        platform=platform,
        target_link_uri=target,
        storage_target=storage_target,
        expires_at=timezone.now() + LOGIN_STATE_TTL,
    )
    auth_params = {
        "scope": "openid",
        "response_type": "id_token",
        "response_mode": "form_post",
        "prompt": "none",
        "client_id": platform.client_id,
        "redirect_uri": settings.TOOL_BASE_URL + "/lti/launch/",
        "state": state,
        "nonce": nonce,
        "login_hint": login_hint,
    }
    if params.get("lti_message_hint"):
        auth_params["lti_message_hint"] = params["lti_message_hint"]
    separator = "&" if "?" in platform.auth_login_url else "?"
    return LoginRedirect(
        auth_url=platform.auth_login_url + separator + urlencode(auth_params),
        state=state,
        nonce=nonce,
        storage_target=storage_target,
        platform_origin=origin_of(platform.auth_login_url),
    )


def origin_of(url: str) -> str:
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0]}" if rest else ""


# --- Launch -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ValidatedLaunch:
    claims: lti_claims.LaunchClaims
    platform: Platform
    deployment: Deployment
    id_token: dict[str, Any]


class FinishlineMessageLaunch(DjangoMessageLaunch):
    """pylti1p3's Django launch with its validation steps replaced where they fall short."""

    def __init__(self, request: HttpRequest, *, state_cookie_checked: bool) -> None:
        super().__init__(  # type: ignore[no-untyped-call]
            request, DatabaseToolConf(), requests_session=http_session()
        )
        self._state_cookie_checked = state_cookie_checked
        self._login_state: LoginState | None = None
        self._platform: Platform | None = None

    def validate(self) -> FinishlineMessageLaunch:
        """Every check first, the single write (nonce consumption) last."""
        self._validated = True
        try:
            self.validate_jwt_format()
            self.validate_state()
            self.validate_registration()
            self.validate_jwt_signature()
            self.validate_deployment()
            self.validate_message()
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
        return self

    def validate_state(self) -> FinishlineMessageLaunch:
        state = str(self._request.get_param("state") or "")
        login = LoginState.objects.filter(state=state).select_related("platform").first()
        if not state or login is None:
            raise LaunchRejected("The launch has no matching login (state).", code="state_unknown")
        if login.expires_at < timezone.now():
            raise LaunchRejected("The login took too long; launch again.", code="state_expired")
        if not self._state_cookie_checked:
            raise LaunchRejected("The state is not bound to this browser.", code="state_unbound")
        self._login_state = login
        return self

    def _body(self) -> dict[str, Any]:
        """The decoded id_token (pylti1p3 types it as a TypedDict without the JWT claims)."""
        return cast(dict[str, Any], self._jwt["body"])

    def validate_registration(self) -> FinishlineMessageLaunch:
        body = self._body()
        issuer = body.get("iss")
        audience = body.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        client_id = body.get("azp") if len(audiences) > 1 else audiences[0]
        assert self._login_state is not None
        platform = self._login_state.platform
        if issuer != platform.issuer:
            raise LaunchRejected(
                "The token's issuer is not the platform that logged in.", code="iss"
            )
        if platform.client_id not in audiences or client_id != platform.client_id:
            raise LaunchRejected("The token was not issued to Finishline (aud/azp).", code="aud")
        if "azp" in body and body["azp"] != platform.client_id:
            raise LaunchRejected("The token's authorised party is not Finishline.", code="azp")
        self._platform = platform
        self._registration = FinishlineRegistration(platform)
        return self

    def validate_jwt_signature(self) -> FinishlineMessageLaunch:
        assert self._platform is not None
        header = self._jwt["header"]
        if header.get("alg") != "RS256":
            raise LaunchRejected("The token is not signed with RS256.", code="alg")
        key = platform_public_key(self._platform, str(header.get("kid", "")))
        try:
            jwt.decode(
                self._get_id_token(),
                key=key,
                algorithms=["RS256"],
                audience=self._platform.client_id,
                issuer=self._platform.issuer,
                leeway=settings.FINISHLINE["JWT_LEEWAY"],
                options={"require": ["exp", "iat", "iss", "aud", "sub", "nonce"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise LaunchRejected("The launch token has expired.", code="expired") from exc
        except jwt.ImmatureSignatureError as exc:
            raise LaunchRejected("The launch token is not valid yet.", code="future") from exc
        except jwt.InvalidSignatureError as exc:
            raise LaunchRejected(
                "The launch token's signature is wrong.", code="signature"
            ) from exc
        except jwt.InvalidTokenError as exc:
            raise LaunchRejected(f"The launch token is invalid: {exc}.", code="jwt") from exc
        iat = self._jwt["body"].get("iat")
        leeway = settings.FINISHLINE["JWT_LEEWAY"]
        if isinstance(iat, int | float) and iat > timezone.now().timestamp() + leeway:
            raise LaunchRejected("The launch token was issued in the future.", code="future")
        return self

    def validate_deployment(self) -> FinishlineMessageLaunch:
        assert self._platform is not None
        deployment_id = self._jwt["body"].get(lti_claims.DEPLOYMENT_ID)
        deployment = Deployment.objects.filter(
            platform=self._platform, deployment_id=str(deployment_id or "")
        ).first()
        if deployment is None:
            raise LaunchRejected("This deployment is not registered.", code="deployment")
        if deployment.status != Deployment.Status.ACTIVE:
            raise LaunchRejected(
                "This deployment is waiting for an administrator's approval.",
                code="deployment_pending",
                status=403,
            )
        self._deployment = deployment
        return self

    def validate_message(self) -> FinishlineMessageLaunch:
        assert self._platform is not None
        try:
            self._claims = lti_claims.LaunchClaims.from_id_token(
                self._jwt["body"], client_id=self._platform.client_id
            )
        except lti_claims.InvalidClaims as exc:
            raise LaunchRejected(
                f"The launch is not a valid LTI 1.3 message: {exc}.", code="claims"
            ) from exc
        return self

    def validate_nonce(self) -> FinishlineMessageLaunch:
        assert self._login_state is not None
        assert self._platform is not None
        nonce = self._body().get("nonce")
        if nonce != self._login_state.nonce:
            raise LaunchRejected("The launch's nonce does not match its login.", code="nonce")
        exp = self._body()["exp"]
        expires = datetime.fromtimestamp(exp, tz=UTC) + timedelta(minutes=5)
        try:
            with transaction.atomic():
                UsedNonce.objects.create(platform=self._platform, nonce=nonce, expires_at=expires)
        except IntegrityError as exc:
            raise LaunchRejected(
                "This launch was already used (replayed nonce).", code="replay"
            ) from exc
        return self

    def result(self) -> ValidatedLaunch:
        assert self._platform is not None
        return ValidatedLaunch(
            claims=self._claims,
            platform=self._platform,
            deployment=self._deployment,
            id_token=dict(self._jwt["body"]),
        )


def validate_launch(request: HttpRequest) -> ValidatedLaunch:
    """Validate an id_token POST. Raises LaunchRejected; writes only the consumed nonce."""
    if not request.POST.get("id_token"):
        raise LaunchRejected("The launch has no id_token.", code="no_id_token")
    state = request.POST.get("state", "")
    cookie_ok = bool(state) and request.COOKIES.get(STATE_COOKIE_PREFIX + state) == state
    storage_ok = (
        request.POST.get("lti_storage_checked") == "1"
        and LoginState.objects.filter(state=state).exclude(storage_target="").exists()
    )
    message_launch = FinishlineMessageLaunch(request, state_cookie_checked=cookie_ok or storage_ok)
    message_launch.validate()
    return message_launch.result()


def login_state_for(state: str) -> LoginState | None:
    return LoginState.objects.filter(state=state).select_related("platform").first()


def purge_expired_login_data() -> tuple[int, int]:
    """Delete expired login states and nonces (their tokens can no longer validate)."""
    now = timezone.now()
    states, _ = LoginState.objects.filter(expires_at__lt=now).delete()
    nonces, _ = UsedNonce.objects.filter(expires_at__lt=now).delete()
    return states, nonces


# --- Platform keys ------------------------------------------------------------------------


def platform_public_key(platform: Platform, kid: str) -> Any:
    """The platform's public key for `kid`: cached JWKS, refetched once if the kid is unknown."""
    if not kid:
        raise LaunchRejected("The launch token names no key (kid).", code="kid")
    memo = _KEY_MEMO.get((platform.pk, kid))
    if memo is not None and memo[0] > time.monotonic():
        return memo[1]
    cached = PlatformKeySet.objects.filter(platform=platform).first()
    ttl = timedelta(seconds=settings.FINISHLINE["PLATFORM_JWKS_TTL"])
    fresh = cached is not None and cached.fetched_at + ttl > timezone.now()
    key = _find_key(cached.keys, kid) if fresh and cached is not None else None
    if key is None:
        key = _find_key(fetch_platform_jwks(platform), kid)
    if key is not None:
        _KEY_MEMO[(platform.pk, kid)] = (time.monotonic() + _KEY_MEMO_SECONDS, key)
    if key is None:
        raise LaunchRejected(
            "The launch is signed with a key the platform does not publish.", code="kid"
        )
    return key


# Parsed platform keys, per process, briefly: parsing a JWK and reading the cached key set on
# every launch would cost more than verifying the signature itself.
_KEY_MEMO: dict[tuple[int, str], tuple[float, Any]] = {}
_KEY_MEMO_SECONDS = 300.0


def fetch_platform_jwks(platform: Platform) -> dict[str, Any]:
    try:
        response = http_session().get(
            platform.jwks_url, timeout=settings.FINISHLINE["HTTP_TIMEOUT"]
        )
        response.raise_for_status()
        keys = response.json()
    except (requests.RequestException, ValueError) as exc:
        log.warning("platform_jwks_fetch_failed platform=%s error=%s", platform.pk, exc)
        raise LaunchRejected(
            "The platform's key set could not be fetched.", code="jwks", status=502
        ) from exc
    if not isinstance(keys, dict) or not isinstance(keys.get("keys"), list):
        raise LaunchRejected("The platform's key set is malformed.", code="jwks", status=502)
    PlatformKeySet.objects.update_or_create(
        platform=platform, defaults={"keys": keys, "fetched_at": timezone.now()}
    )
    return keys


def _find_key(keys: dict[str, Any], kid: str) -> Any:
    for jwk in keys.get("keys", []):
        if isinstance(jwk, dict) and jwk.get("kid") == kid and jwk.get("kty") == "RSA":
            try:
                return jwt.algorithms.RSAAlgorithm.from_jwk(jwk)
            except (ValueError, KeyError, jwt.InvalidKeyError):
                return None
    return None
