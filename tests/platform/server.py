"""An in-repo LTI 1.3 platform for tests, served over real HTTP on 127.0.0.1.

It signs id_tokens with its own RSA keys and serves its JWKS, openid-configuration, OAuth2
token endpoint and registration endpoint, so the tool's real fetch paths run. Further routes
(NRPS, AGS, …) are added per test with `platform.route(method, path, handler)`.
"""

from __future__ import annotations

import html
import json
import secrets
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

LTI = "https://purl.imsglobal.org/spec/lti/claim/"
MEMBERSHIP = "http://purl.imsglobal.org/vocab/lis/v2/membership#"


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body or b"null")

    def form(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(self.body.decode()).items()}


@dataclass
class Response:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"


Handler = Callable[[Request], Response]


class _HTTPHandler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _handle(self) -> None:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        request = Request(
            method=self.command,
            path=parts.path,
            query=parse_qs(parts.query),
            headers={k.lower(): v for k, v in self.headers.items()},
            body=self.rfile.read(length) if length else b"",
        )
        platform = self.server.platform
        platform.requests.append(request)
        handler = platform.routes.get((self.command, parts.path))
        response = handler(request) if handler else Response(404, {"error": "not found"})
        if isinstance(response.body, bytes | str):
            payload = response.body.encode() if isinstance(response.body, str) else response.body
        else:
            payload = json.dumps(response.body).encode()
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(payload)))
        for key, value in response.headers.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_DELETE = _handle


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    platform: TestPlatform


class TestPlatform:
    """A live local LTI platform. Start with `with TestPlatform() as platform:`."""

    __test__ = False  # not a pytest test class

    def __init__(
        self,
        client_id: str = "tool-client-1",
        deployment_id: str = "deployment-1",
        *,
        host: str = "127.0.0.1",
        tls: tuple[str, str] | None = None,
    ) -> None:
        self.client_id = client_id
        self.deployment_id = deployment_id
        self.routes: dict[tuple[str, str], Handler] = {}
        self.requests: list[Request] = []
        self.keys: list[tuple[str, rsa.RSAPrivateKey]] = []
        self.issued_tokens: list[dict[str, Any]] = []
        self.rotate_key()
        self._server = _Server(("127.0.0.1", 0), _HTTPHandler)
        self._server.platform = self
        scheme = "http"
        if tls is not None:  # (certificate, key) files: serve https, as a production LMS does
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
            scheme = "https"
        self.base_url = f"{scheme}://{host}:{self._server.server_address[1]}"
        self.route("GET", "/jwks", lambda r: Response(body=self.jwks()))
        self.route(
            "GET",
            "/.well-known/openid-configuration",
            lambda r: Response(body=self.openid_configuration()),
        )
        self.route("POST", "/token", self._token)
        self.route("GET", "/auth", self._authorize)
        self.route("POST", "/auth", self._authorize)
        # One-time launch hints (`new_launch`), as Moodle names each launch; spent on first use.
        self.launches: dict[str, dict[str, Any]] = {}
        self.spent_hints: list[str] = []
        self.refused_hints: list[str] = []

    # --- lifecycle ---------------------------------------------------------------------
    def __enter__(self) -> TestPlatform:
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def route(self, method: str, path: str, handler: Handler) -> None:
        self.routes[(method, path)] = handler

    # --- identity ----------------------------------------------------------------------
    @property
    def issuer(self) -> str:
        return self.base_url

    @property
    def auth_login_url(self) -> str:
        return self.base_url + "/auth"

    @property
    def token_url(self) -> str:
        return self.base_url + "/token"

    @property
    def jwks_url(self) -> str:
        return self.base_url + "/jwks"

    def rotate_key(self) -> str:
        """Start signing with a new key (the old one stays published)."""
        kid = f"platform-key-{len(self.keys) + 1}-{secrets.token_hex(4)}"
        self.keys.append((kid, rsa.generate_private_key(public_exponent=65537, key_size=2048)))
        return kid

    def jwks(self) -> dict[str, Any]:
        out = []
        for kid, key in self.keys:
            jwk = RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
            jwk.update({"kid": kid, "alg": "RS256", "use": "sig"})
            out.append(jwk)
        return {"keys": out}

    def openid_configuration(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": self.auth_login_url,
            "token_endpoint": self.token_url,
            "token_endpoint_auth_methods_supported": ["private_key_jwt"],
            "token_endpoint_auth_signing_alg_values_supported": ["RS256"],
            "jwks_uri": self.jwks_url,
            "registration_endpoint": self.base_url + "/register",
            "scopes_supported": ["openid"],
            "response_types_supported": ["id_token"],
            "subject_types_supported": ["public", "pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "claims_supported": ["sub", "iss", "name", "email"],
            "https://purl.imsglobal.org/spec/lti-platform-configuration": {
                "product_family_code": "finishline-test-platform",
                "version": "1.0",
                "messages_supported": [
                    {"type": "LtiResourceLinkRequest"},
                    {"type": "LtiDeepLinkingRequest"},
                ],
                "variables": [],
            },
        }

    # --- signing -----------------------------------------------------------------------
    def sign(
        self,
        body: dict[str, Any],
        *,
        kid: str | None = None,
        key: rsa.RSAPrivateKey | None = None,
        alg: str = "RS256",
    ) -> str:
        if key is None:
            kid = kid or self.keys[-1][0]
            key = dict(self.keys)[kid]
        return jwt.encode(body, key, algorithm=alg, headers={"kid": kid} if kid else {})

    def id_token_body(
        self,
        *,
        sub: str,
        nonce: str,
        role: str = "Learner",
        context_id: str = "course-1",
        message_type: str = "LtiResourceLinkRequest",
        **extra: Any,
    ) -> dict[str, Any]:
        now = int(time.time())
        body: dict[str, Any] = {
            "iss": self.issuer,
            "aud": self.client_id,
            "azp": self.client_id,
            "sub": sub,
            "iat": now,
            "exp": now + 300,
            "nonce": nonce,
            "name": f"Person {sub}",
            "email": f"{sub}@example.edu",
            LTI + "message_type": message_type,
            LTI + "version": "1.3.0",
            LTI + "deployment_id": self.deployment_id,
            LTI + "target_link_uri": "http://127.0.0.1:8000/lti/launch/",
            LTI + "roles": [role if role.startswith("http") else MEMBERSHIP + role],
            LTI + "resource_link": {"id": "link-1", "title": "Finishline"},
        }
        if context_id:
            body[LTI + "context"] = {"id": context_id, "title": f"Course {context_id}"}
        body.update(extra)
        return body

    # --- OIDC authorization: the platform's side of a launch ------------------------------
    def new_launch(self, *, sub: str, redirect_uri: str, **claims: Any) -> str:
        """Name a launch the platform is about to start; returns its lti_message_hint.

        Like Moodle (which drops the launch from the user's session once its hint is used),
        the authorization endpoint answers a hint once: a second use is refused with 400.
        """
        hint = f"launch-{len(self.launches) + 1}-{secrets.token_hex(4)}"
        self.launches[hint] = {"sub": sub, "redirect_uri": redirect_uri, "claims": claims}
        return hint

    def _authorize(self, request: Request) -> Response:
        params = {k: v[0] for k, v in request.query.items()}
        if request.method == "POST":
            params.update(request.form())
        hint = params.get("lti_message_hint", "")
        issued = self.launches.get(hint)
        if issued is None or hint in self.spent_hints:
            self.refused_hints.append(hint)
            return Response(400, "lti_message_hint already used", content_type="text/plain")
        if params.get("login_hint") != issued["sub"] or (
            params.get("redirect_uri") != issued["redirect_uri"]
        ):
            self.refused_hints.append(hint)
            return Response(400, "login_hint or redirect_uri mismatch", content_type="text/plain")
        self.spent_hints.append(hint)
        body = self.id_token_body(sub=issued["sub"], nonce=params.get("nonce", ""))
        body[LTI + "target_link_uri"] = issued["redirect_uri"]
        body.update(issued["claims"])
        token = self.sign(body)
        action = html.escape(issued["redirect_uri"])
        page = (
            f'<html><body><form id="f" method="post" action="{action}">'
            f'<input type="hidden" name="id_token" value="{token}">'
            f'<input type="hidden" name="state" value="{html.escape(params.get("state", ""))}">'
            '</form><script>document.getElementById("f").submit();</script></body></html>'
        )
        return Response(body=page, content_type="text/html")

    # --- OAuth2 client credentials (AGS/NRPS tokens) -------------------------------------
    def _token(self, request: Request) -> Response:
        form = request.form()
        assertion = form.get("client_assertion", "")
        self.issued_tokens.append(form)
        if form.get("grant_type") != "client_credentials" or not assertion:
            return Response(400, {"error": "invalid_request"})
        token = "at-" + secrets.token_hex(8)
        return Response(
            body={
                "access_token": token,
                "token_type": "Bearer",
                "expires_in": 3600,
                "scope": form.get("scope", ""),
            }
        )
