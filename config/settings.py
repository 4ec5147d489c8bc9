"""Finishline settings: one file, read from the environment.

The defaults are the embedded demo (SQLite, the django-q2 ORM broker, a local-memory cache),
so `./run` works on a fresh machine with nothing set. DATABASE_URL and REDIS_URL switch to
PostgreSQL and Redis.

Secure by default: unless FINISHLINE_ENV is `demo` (set by `./run`) or `test` (the test
suite), Finishline runs as production and refuses to start without a real SECRET_KEY (from
the environment or SECRET_KEY_FILE) or with DEBUG on. The demo and test modes make their own
random key once (kept in var/, which git ignores) and answer only on loopback host names, so
a server started in one of them by mistake is not reachable from elsewhere.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import TypedDict
from urllib.parse import urlsplit

import dj_database_url
import django_stubs_ext
import psycopg  # noqa: F401  (imported once here, see below)
from django.core.exceptions import ImproperlyConfigured

# Lets generic Django classes be subscripted at run time (ModelAdmin[Model], QuerySet[Model]).
django_stubs_ext.monkeypatch()
# psycopg's package init is not safe to race: runserver's reloader imports the URLconf (whose
# xAPI store imports psycopg.types.json) in one thread while the system checks import DRF
# (which imports psycopg) in another. Importing it above, before any thread starts, avoids it.

BASE_DIR = Path(__file__).resolve().parent.parent
ENVIRONMENT = os.environ.get("FINISHLINE_ENV", "production")
if ENVIRONMENT not in {"production", "demo", "test"}:
    raise ImproperlyConfigured("FINISHLINE_ENV must be production, demo or test.")
# The local modes: the demo `./run` starts, and the test suite.
LOCAL = ENVIRONMENT in {"demo", "test"}
LOCAL_HOSTS = ["127.0.0.1", "localhost", "[::1]", "testserver"]


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def local_secret_key(path: Path) -> str:
    """The demo's own random key, made on first run and kept (0600) in the data folder."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_urlsafe(50))
    return path.read_text().strip()


def configured_secret_key() -> str:
    if os.environ.get("SECRET_KEY_FILE"):
        return Path(os.environ["SECRET_KEY_FILE"]).read_text().strip()
    return os.environ.get("SECRET_KEY", "")


SECRET_KEY = configured_secret_key()
if not SECRET_KEY and LOCAL:
    SECRET_KEY = local_secret_key(BASE_DIR / "var" / "secret_key")
# DEBUG pages list every URL pattern and settings: never outside the local modes.
DEBUG = LOCAL and env_bool("DEBUG", False)

if not LOCAL:
    if len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5 or SECRET_KEY.startswith("django-insecure"):
        raise ImproperlyConfigured(
            "Set SECRET_KEY (or SECRET_KEY_FILE) to 50+ random characters; Finishline runs as "
            "production unless FINISHLINE_ENV is demo or test."
        )
    if env_bool("DEBUG", False):
        raise ImproperlyConfigured("DEBUG must be off outside the demo (FINISHLINE_ENV=demo).")

# The public origin of the tool, as platforms reach it (used in registration and JWKS URLs).
TOOL_BASE_URL = os.environ.get("FINISHLINE_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
if LOCAL:
    ALLOWED_HOSTS = LOCAL_HOSTS
else:
    ALLOWED_HOSTS = [h.strip() for h in os.environ.get("ALLOWED_HOSTS", "").split(",") if h.strip()]
    ALLOWED_HOSTS = ALLOWED_HOSTS or [urlsplit(TOOL_BASE_URL).hostname or "localhost"]
CSRF_TRUSTED_ORIGINS = [TOOL_BASE_URL]

# The demo LMS (start page, "Launch as ..." course page, its platform endpoints): always on in
# the local modes; in production only with FINISHLINE_DEMO_LMS=on, for an admin trying
# Finishline out, never by default. FINISHLINE_DEMO_LMS_URL serves its pages under another
# origin of this same server (a second host name), so the launch is cross-site as from an LMS.
_demo_lms = os.environ.get("FINISHLINE_DEMO_LMS", "off").strip().lower()
if _demo_lms not in {"on", "off"}:
    raise ImproperlyConfigured("FINISHLINE_DEMO_LMS must be on or off (off unless set).")
DEMO_LMS = LOCAL or _demo_lms == "on"
DEMO_LMS_URL = os.environ.get("FINISHLINE_DEMO_LMS_URL", "").rstrip("/")
if DEMO_LMS_URL and not DEMO_LMS:
    raise ImproperlyConfigured("FINISHLINE_DEMO_LMS_URL is set but FINISHLINE_DEMO_LMS is off.")
if DEMO_LMS_URL and not LOCAL:
    ALLOWED_HOSTS = [*ALLOWED_HOSTS, urlsplit(DEMO_LMS_URL).hostname or ""]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "drf_spectacular",
    "django_q",
    "lti_tool",
    "completion",
    "interventions",
    "certificates",
]

MIDDLEWARE = [
    "lti_tool.ops.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "lti_tool.request_limits.RequestLimitsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "lti_tool.middleware.LaunchContextMiddleware",
    "lti_tool.middleware.FrameAncestorsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "lti_tool.context_processors.launch",
                "lti_tool.context_processors.nav",
            ],
        },
    },
]

# Connections stay open between requests and tasks: django-q2 otherwise opens one per call.
CONN_MAX_AGE = int(os.environ.get("CONN_MAX_AGE", "600"))
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{BASE_DIR / 'finishline.sqlite3'}"),
        conn_max_age=CONN_MAX_AGE,
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Django's backend, its health check skipped for a connection seen working moments ago.
    DATABASES["default"]["ENGINE"] = "lti_tool.db.postgresql"
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL and a busy timeout let the web server and the worker share the demo database.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
    }
    # SQLite ignores covering-index columns (a PostgreSQL speed-up): nothing to act on.
    SILENCED_SYSTEM_CHECKS = ["models.W040"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
FORMS_URLFIELD_ASSUME_HTTPS = True

REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

Q_CLUSTER: dict[str, object] = {
    "name": "finishline",
    "workers": int(os.environ.get("Q_WORKERS", "2")),
    "timeout": 300,
    "retry": 360,
    "max_attempts": 5,
    "catch_up": False,
    "save_limit": 1000,
    "label": "Jobs",
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
# Certificate PDFs. Any Django storage works (STORAGES["default"]); the default is local disk.
MEDIA_ROOT = Path(os.environ.get("FINISHLINE_MEDIA_ROOT", str(BASE_DIR / "var" / "media")))
MEDIA_URL = "media/"  # not served: PDFs are downloaded through views that check who asks

# Inside an LMS iframe every cookie we set is cross-site: SameSite=None requires Secure.
# Over plain http (the local demo) browsers drop Secure cookies, so fall back to Lax there.
COOKIES_CROSS_SITE = TOOL_BASE_URL.startswith("https://")
SESSION_COOKIE_SAMESITE = "None" if COOKIES_CROSS_SITE else "Lax"
SESSION_COOKIE_SECURE = COOKIES_CROSS_SITE
CSRF_COOKIE_SAMESITE = "None" if COOKIES_CROSS_SITE else "Lax"
CSRF_COOKIE_SECURE = COOKIES_CROSS_SITE
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
X_FRAME_OPTIONS = "SAMEORIGIN"  # replaced by CSP frame-ancestors on LTI pages
# In https mode: plain http is redirected, and browsers are told to use https only (HSTS).
SECURE_SSL_REDIRECT = COOKIES_CROSS_SITE and env_bool("FINISHLINE_SSL_REDIRECT", True)
SECURE_REDIRECT_EXEMPT = [r"^healthz/$", r"^readyz/$", r"^metrics$"]  # probes from the host itself
SECURE_HSTS_SECONDS = (
    int(os.environ.get("FINISHLINE_HSTS_SECONDS", str(365 * 24 * 3600)))
    if COOKIES_CROSS_SITE
    else 0
)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("FINISHLINE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_CONTENT_TYPE_NOSNIFF = True

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": [],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 100,
    "UNAUTHENTICATED_USER": None,
}


class FinishlineSettings(TypedDict, total=False):
    """Finishline's own settings; typed so every reader gets the right type."""

    LAUNCH_SESSION_IDLE: int
    LAUNCH_SESSION_MAX_AGE: int
    JWT_LEEWAY: int
    PLATFORM_JWKS_TTL: int
    PLATFORM_JWKS_REFETCH_INTERVAL: int
    HTTP_TIMEOUT: tuple[float, float]
    OUTBOUND_ALLOW: tuple[str, ...]
    OUTBOUND_CA_BUNDLE: str
    REGISTRATION_REQUIRES_APPROVAL: bool
    TOOL_TITLE: str
    XAPI_MAX_BODY: int
    CALIPER_MAX_BODY: int
    API_MAX_BODY: int
    MAX_REQUEST_BODY: int
    CANVAS_LIVE_EVENTS_JWKS_URL: str
    CANVAS_LIVE_EVENTS_REQUIRE_SIGNED: bool
    EMAIL_DOMAIN: str
    STORAGE_TIMEOUT_MS: int
    OUTBOX_LEASE_SECONDS: int
    IMPORT_STALE_SECONDS: int
    ROSTER_SYNC_ON_LAUNCH_MINUTES: int
    ADVISOR_DAILY_CAP: int
    CASE_DIGEST: bool


FINISHLINE: FinishlineSettings = {
    # A launch session ends after this many idle seconds (each use pushes it forward)...
    "LAUNCH_SESSION_IDLE": int(os.environ.get("FINISHLINE_LAUNCH_SESSION_IDLE", str(30 * 60))),
    # ...and this many seconds after its launch at the latest.
    "LAUNCH_SESSION_MAX_AGE": int(
        os.environ.get("FINISHLINE_LAUNCH_SESSION_MAX_AGE", str(8 * 3600))
    ),
    # Clock skew tolerated on id_token iat/exp/nbf, in seconds.
    "JWT_LEEWAY": int(os.environ.get("FINISHLINE_JWT_LEEWAY", "5")),
    # Platform JWKS are cached this long; an unknown kid triggers one refetch regardless.
    "PLATFORM_JWKS_TTL": int(os.environ.get("FINISHLINE_PLATFORM_JWKS_TTL", "3600")),
    # An unknown kid refetches a key set at most this often (seconds), so forged kids cannot
    # make the tool hammer a platform's JWKS endpoint.
    "PLATFORM_JWKS_REFETCH_INTERVAL": int(
        os.environ.get("FINISHLINE_PLATFORM_JWKS_REFETCH_INTERVAL", "5")
    ),
    # Outbound HTTP timeouts (connect, read), seconds.
    "HTTP_TIMEOUT": (3.05, 15.0),
    # Networks (CIDRs) outbound requests may reach although they are not public: loopback for
    # the demo and local test platforms outside production, nothing by default in production.
    "OUTBOUND_ALLOW": tuple(
        n.strip()
        for n in os.environ.get(
            "FINISHLINE_OUTBOUND_ALLOW",
            "127.0.0.0/8,::1/128" if LOCAL else "",
        ).split(",")
        if n.strip()
    ),
    # A CA bundle (PEM file) to verify outbound https with instead of the public CAs, for an
    # LMS whose certificate comes from the institution's own CA.
    "OUTBOUND_CA_BUNDLE": os.environ.get("FINISHLINE_OUTBOUND_CA_BUNDLE", ""),
    # Dynamic registrations wait for an admin's approval when this is on (the default in
    # production), unless they come through an admin-issued one-time registration link.
    "REGISTRATION_REQUIRES_APPROVAL": env_bool(
        "FINISHLINE_REGISTRATION_REQUIRES_APPROVAL", not LOCAL
    ),
    "TOOL_TITLE": os.environ.get("FINISHLINE_TOOL_TITLE", "Finishline"),
    # Any request body larger than this is refused with 413 before a view reads it.
    "MAX_REQUEST_BODY": int(os.environ.get("FINISHLINE_MAX_REQUEST_BODY", str(25 * 1024 * 1024))),
    # Canvas Live Events signed as JWTs are checked against this key set (Instructure's; the
    # URL depends on the region). With REQUIRE_SIGNED, deliveries authenticated by the URL's
    # ?token= must be signed: the URL alone (visible to Canvas admins) is not enough.
    "CANVAS_LIVE_EVENTS_JWKS_URL": os.environ.get("FINISHLINE_CANVAS_LIVE_EVENTS_JWKS_URL", ""),
    "CANVAS_LIVE_EVENTS_REQUIRE_SIGNED": env_bool(
        "FINISHLINE_CANVAS_LIVE_EVENTS_REQUIRE_SIGNED", False
    ),
    # How long a dispatcher's claim on an outbox message holds (renewed before each send).
    "OUTBOX_LEASE_SECONDS": int(os.environ.get("FINISHLINE_OUTBOX_LEASE_SECONDS", "300")),
    # Without PostgreSQL's session locks, a `running` import older than this is taken as dead.
    "IMPORT_STALE_SECONDS": int(os.environ.get("FINISHLINE_IMPORT_STALE_SECONDS", "21600")),
    # Advisor cases a staff member is given per day at most; the rest wait, highest value first.
    "ADVISOR_DAILY_CAP": int(os.environ.get("FINISHLINE_ADVISOR_DAILY_CAP", "25")),
    # Cases over the cap go in one daily email to each owner (off: they wait for a later plan).
    "CASE_DIGEST": env_bool("FINISHLINE_CASE_DIGEST", True),
    # How long the launch page waits for the platform's LTI storage answer (lti.get_data).
    "STORAGE_TIMEOUT_MS": int(os.environ.get("FINISHLINE_STORAGE_TIMEOUT_MS", "4000")),
    # An instructor's launch syncs the course roster (NRPS) in the background, at most once
    # per this many minutes per course; 0 switches it off (the nightly sync still runs).
    "ROSTER_SYNC_ON_LAUNCH_MINUTES": int(
        os.environ.get("FINISHLINE_ROSTER_SYNC_ON_LAUNCH_MINUTES", "15")
    ),
}

# Email goes through Django's SMTP backend; the tests point it at a local aiosmtpd server.
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "127.0.0.1")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = int(os.environ.get("EMAIL_TIMEOUT", "10"))
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Finishline <finishline@localhost>")
# The demo's mail catcher stores what it receives in this Maildir; /demo/mail/ shows it.
DEMO_MAILDIR = os.environ.get("FINISHLINE_DEMO_MAILDIR", "") if LOCAL else ""

# SMS through a Twilio-compatible REST API.
FINISHLINE_SMS = {
    "API_BASE": os.environ.get("FINISHLINE_SMS_API_BASE", "https://api.twilio.com"),
    "ACCOUNT_SID": os.environ.get("FINISHLINE_SMS_ACCOUNT_SID", ""),
    "AUTH_TOKEN": os.environ.get("FINISHLINE_SMS_AUTH_TOKEN", ""),
    "FROM_NUMBER": os.environ.get("FINISHLINE_SMS_FROM", ""),
}

# Learners' replies. SMS replies come to /messages/inbound/sms/, signed with the SMS auth token
# (Twilio's X-Twilio-Signature). An email gets the reply address reply+<token>@REPLY_DOMAIN
# only when REPLY_DOMAIN is set; the domain's inbound-parse route posts replies to
# /messages/inbound/email/, signed with INBOUND_EMAIL_SIGNING_KEY (Mailgun's scheme).
FINISHLINE_REPLIES = {
    "REPLY_DOMAIN": os.environ.get("FINISHLINE_REPLY_DOMAIN", ""),
    "INBOUND_EMAIL_SIGNING_KEY": os.environ.get("FINISHLINE_INBOUND_EMAIL_SIGNING_KEY", ""),
}

# LOG_FORMAT=json (the production stack's default) writes one JSON object per line; every line
# carries the request id of the request or task it belongs to (see lti_tool/ops/logs.py).
LOG_FORMAT = os.environ.get("LOG_FORMAT", "plain")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "lti_tool.ops.logs.RequestIdFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        "json": {"()": "lti_tool.ops.logs.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json" if LOG_FORMAT == "json" else "plain",
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "weasyprint": {"level": "WARNING"},  # its INFO lines narrate every render step
        "fontTools": {"level": "WARNING"},
    },
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Finishline API",
    "DESCRIPTION": "Courses, learners, progress, risk, interventions, certificates and reports "
    "of one deployment. Authenticate with an API credential: "
    "`Authorization: Token <key>.<secret>`.",
    "VERSION": "1.0",
    "SERVE_INCLUDE_SCHEMA": False,
}
