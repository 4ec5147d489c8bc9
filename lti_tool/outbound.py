"""Outbound HTTP to addresses others chose: the one client, guarded against request forgery.

Registration (a platform's openid-configuration and registration endpoint), platform key
sets, NRPS/AGS and webhooks all go through `session()`. Its rules:

- https only outside the local modes (`FINISHLINE_ENV` demo or test may use http);
- no redirects are followed (a 3xx is an answer, not a new target);
- every connection resolves the host itself, refuses loopback, private, link-local (cloud
  metadata included), shared, multicast and reserved addresses, and connects to the address
  it vetted (no second lookup, so DNS rebinding cannot swap it); only networks listed in
  `FINISHLINE_OUTBOUND_ALLOW` (CIDRs) are let through, and none are by default in production;
- no proxies from the environment; a body larger than its limit, or a whole exchange longer
  than its time limit, is cut off;
- errors say what went wrong in general terms (`OutboundError`), never which address
  answered; details go to the log.
It does not decide what to send or how to read an answer: its callers do.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import time
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import NewConnectionError
from urllib3.util.timeout import _DEFAULT_TIMEOUT

log = logging.getLogger("finishline.outbound")

USER_AGENT = "Finishline-LTI/1.0"
DEFAULT_MAX_BYTES = 1024 * 1024

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class OutboundError(requests.RequestException):
    """An outbound request refused or failed. `str()` is safe to show; it names no address."""


class AddressRefused(OutboundError):
    """The target is not allowed (scheme, or an address in a refused range)."""


# --- Rules --------------------------------------------------------------------------------


def allowed_networks() -> tuple[IPNetwork, ...]:
    raw: Iterable[str] = settings.FINISHLINE.get("OUTBOUND_ALLOW", ())
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in raw)


def address_allowed(address: IPAddress, allowed: tuple[IPNetwork, ...]) -> bool:
    """Public unicast addresses, and anything inside an allowed network."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if any(address in network for network in allowed):
        return True
    return bool(address.is_global and not address.is_multicast)


def check_url(url: str) -> str:
    """The URL if its scheme and host may be asked at all (addresses are checked on connect)."""
    parts = urlsplit(url)
    https_only = not settings.LOCAL
    schemes = {"https"} if https_only else {"https", "http"}
    if parts.scheme not in schemes or not parts.hostname:
        raise AddressRefused("only https URLs are allowed" if https_only else "not an http(s) URL")
    if parts.username or parts.password:
        raise AddressRefused("URLs with credentials are not allowed")
    return url


def vetted_addresses(host: str, port: int) -> list[tuple[int, Any]]:
    """Resolve `host` and keep its allowed addresses; refuse when none is allowed."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise OutboundError("the host name could not be resolved") from exc
    allowed = allowed_networks()
    kept: list[tuple[int, Any]] = [
        (int(family), sockaddr)
        for family, _, _, _, sockaddr in infos
        if address_allowed(ipaddress.ip_address(sockaddr[0]), allowed)
    ]
    if not kept:
        log.warning("outbound_refused host=%r addresses=%s", host, [i[4][0] for i in infos])
        raise AddressRefused("the address is not allowed")
    return kept


def check_target(url: str) -> str:
    """`check_url`, and an address written in the URL itself checked now (for URLs stored to
    be called later, e.g. webhooks). Host names are checked on every connection."""
    host = urlsplit(check_url(url)).hostname or ""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        if host.lower().rstrip(".") in {"localhost", "localhost.localdomain"}:
            address = ipaddress.ip_address("127.0.0.1")
        else:
            return url
    if not address_allowed(address, allowed_networks()):
        raise AddressRefused("the address is not allowed")
    return url


# --- Connections that connect only to the address they vetted ---------------------------


class _Guarded(HTTPConnection):
    def _new_conn(self) -> socket.socket:
        problem: OSError | None = None
        for family, sockaddr in vetted_addresses(self._dns_host, self.port):
            sock = socket.socket(family, socket.SOCK_STREAM)
            try:
                timeout: object = self.timeout
                if timeout is not _DEFAULT_TIMEOUT:
                    sock.settimeout(self.timeout)
                for option in self.socket_options or ():
                    sock.setsockopt(*option)
                sock.connect(sockaddr)
                return sock
            except OSError as exc:
                sock.close()
                problem = exc
        raise NewConnectionError(self, f"connection failed: {problem}")


class _GuardedHTTPS(_Guarded, HTTPSConnection):
    pass


class _Pool(HTTPConnectionPool):
    ConnectionCls = _Guarded


class _HTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _GuardedHTTPS


class _Adapter(HTTPAdapter):
    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _Pool, "https": _HTTPSPool}

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        raise AddressRefused("proxies are not used for outbound requests")


class GuardedSession(requests.Session):
    """A requests session that follows the rules above on every request it makes."""

    def __init__(self, *, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        super().__init__()
        self.trust_env = False
        # An institution whose LMS has a certificate from its own CA names that CA's bundle.
        self.verify = settings.FINISHLINE.get("OUTBOUND_CA_BUNDLE") or True
        self.max_bytes = max_bytes
        self.headers["User-Agent"] = USER_AGENT
        adapter = _Adapter(max_retries=0)
        self.mount("http://", adapter)
        self.mount("https://", adapter)

    def request(  # type: ignore[override]
        self, method: str, url: str, *args: Any, **kwargs: Any
    ) -> requests.Response:
        check_url(url)
        kwargs["allow_redirects"] = False
        kwargs["stream"] = True
        connect, read = kwargs.setdefault("timeout", settings.FINISHLINE["HTTP_TIMEOUT"])
        deadline = time.monotonic() + connect + read
        try:
            response = super().request(method, url, *args, **kwargs)
        except AddressRefused:
            raise
        except requests.RequestException as exc:
            refusal = _refusal_in(exc)
            if refusal is not None:
                raise refusal from exc
            log.warning("outbound_failed method=%s url=%r error=%s", method, url, exc)
            raise OutboundError("the server could not be reached") from exc
        try:
            response._content = read_limited(response.raw, self.max_bytes, deadline)
        except OutboundError:
            response.close()
            raise
        except (OSError, requests.RequestException, ValueError) as exc:
            response.close()
            raise OutboundError("the answer could not be read") from exc
        response._content_consumed = True  # type: ignore[attr-defined]
        return response


def _refusal_in(exc: BaseException, depth: int = 0) -> AddressRefused | None:
    """The AddressRefused that urllib3 and requests wrapped on the way up, if any."""
    if isinstance(exc, AddressRefused):
        return exc
    if depth > 5:
        return None
    for inner in (*exc.args, exc.__cause__, exc.__context__):
        if isinstance(inner, BaseException):
            found = _refusal_in(inner, depth + 1)
            if found is not None:
                return found
    return None


def read_limited(raw: Any, max_bytes: int, deadline: float) -> bytes:
    """Read what arrives, chunk by chunk, until the end, the size limit or the deadline."""
    body = bytearray()
    while chunk := raw.read1(8192, decode_content=True):
        body.extend(chunk)
        if len(body) > max_bytes:
            raise OutboundError(f"the answer is larger than {max_bytes} bytes")
        if time.monotonic() > deadline:
            raise OutboundError("the answer took longer than its time limit")
    return bytes(body)


def session(*, max_bytes: int = DEFAULT_MAX_BYTES) -> GuardedSession:
    return GuardedSession(max_bytes=max_bytes)
