#!/usr/bin/env bash
# The production stack on one Debian host, in the foreground: nginx (TLS, HTTP/2, static files)
# in front of gunicorn, the django-q2 cluster (workers and scheduler), all supervised by honcho:
# one that dies takes the stack down with a non-zero status, for systemd or a container
# runtime to restart. PostgreSQL and Redis are the only state.
#
#   deploy/stack.sh            prepare (static files, migrate, schedules, proxy config), then run
#   deploy/stack.sh prepare    only prepare: what an upgrade runs with the workers stopped
#
# Required: FINISHLINE_BASE_URL (https://host[:port]), DATABASE_URL (postgres://),
# REDIS_URL (redis://), and SECRET_KEY or SECRET_KEY_FILE (else one is made once in the state
# folder). Optional: FINISHLINE_TLS_CERT / FINISHLINE_TLS_KEY (else a self-signed pair is made),
# FINISHLINE_HTTPS_PORT (443), FINISHLINE_HTTP_PORT (80), FINISHLINE_BIND (0.0.0.0),
# FINISHLINE_APP_PORT (8000, gunicorn on loopback), WEB_WORKERS (2), Q_WORKERS (2),
# FINISHLINE_STATE_DIR (var/production: rendered config, pid, metrics files; no data).
# To try it out only: FINISHLINE_DEMO_LMS=on seeds and serves the demo LMS (off by default),
# under FINISHLINE_DEMO_LMS_URL if set (another host name of this server, e.g. a second DNS
# name, so the launch is cross-site as from a real LMS).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
VENV=${VENV:-.venv}
export PATH="$ROOT/$VENV/bin:$PATH"

fail() { echo "deploy/stack.sh: $*" >&2; exit 2; }
[ -n "${FINISHLINE_BASE_URL:-}" ] || fail "set FINISHLINE_BASE_URL to the public https origin"
case "$FINISHLINE_BASE_URL" in https://*) ;; *) fail "FINISHLINE_BASE_URL must start with https://" ;; esac
case "${DATABASE_URL:-}" in postgres://*|postgresql://*) ;; *) fail "set DATABASE_URL to a postgres:// URL" ;; esac
case "${REDIS_URL:-}" in redis://*|rediss://*) ;; *) fail "set REDIS_URL to a redis:// URL" ;; esac

STATE_DIR=${FINISHLINE_STATE_DIR:-$ROOT/var/production}
mkdir -p "$STATE_DIR/nginx"
export FINISHLINE_ENV=production
export LOG_FORMAT=${LOG_FORMAT:-json}
export FINISHLINE_APP_PORT=${FINISHLINE_APP_PORT:-8000}
export FINISHLINE_APP_BIND=127.0.0.1:$FINISHLINE_APP_PORT
HOST=$(python -c 'import sys, urllib.parse; print(urllib.parse.urlsplit(sys.argv[1]).hostname)' \
  "$FINISHLINE_BASE_URL")
SERVER_NAMES=$HOST
if [ "${FINISHLINE_DEMO_LMS:-off}" = on ] && [ -n "${FINISHLINE_DEMO_LMS_URL:-}" ]; then
  SERVER_NAMES="$HOST $(python -c 'import sys, urllib.parse; print(urllib.parse.urlsplit(sys.argv[1]).hostname)' "$FINISHLINE_DEMO_LMS_URL")"
fi

if [ -z "${SECRET_KEY:-}" ] && [ -z "${SECRET_KEY_FILE:-}" ]; then
  # Every web host of one installation needs the same key: copy this file to the others.
  export SECRET_KEY_FILE=$STATE_DIR/secret_key
  if [ ! -s "$SECRET_KEY_FILE" ]; then
    (umask 077 && python -c 'import secrets; print(secrets.token_urlsafe(64))' >"$SECRET_KEY_FILE")
    echo "deploy/stack.sh: made a secret key in $SECRET_KEY_FILE (back it up)"
  fi
fi

if [ -z "${FINISHLINE_TLS_CERT:-}" ]; then
  FINISHLINE_TLS_CERT=$STATE_DIR/tls/cert.pem
  FINISHLINE_TLS_KEY=$STATE_DIR/tls/key.pem
  if [ ! -s "$FINISHLINE_TLS_CERT" ]; then
    mkdir -p "$STATE_DIR/tls"
    case "$HOST" in
      *[!0-9.]*) san="DNS:$HOST" ;;
      *) san="IP:$HOST" ;;
    esac
    openssl req -x509 -newkey rsa:2048 -nodes -days 365 -subj "/CN=$HOST" \
      -addext "subjectAltName=$san" -keyout "$FINISHLINE_TLS_KEY" -out "$FINISHLINE_TLS_CERT" \
      2>/dev/null
    echo "deploy/stack.sh: made a self-signed certificate for $HOST; set FINISHLINE_TLS_CERT and FINISHLINE_TLS_KEY for a real one"
  fi
fi
[ -n "${FINISHLINE_TLS_KEY:-}" ] || fail "FINISHLINE_TLS_CERT is set: set FINISHLINE_TLS_KEY too"

if ! command -v nginx >/dev/null; then
  [ "$(id -u)" = 0 ] || fail "install nginx (apt-get install nginx)"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx >/dev/null
fi

prepare() {
  python manage.py collectstatic --noinput -v 0
  # The workers are not running (they start below, or the upgrade stopped them): migrations
  # take their locks without waiting on tasks.
  python manage.py migrate --noinput
  python manage.py sync_schedules
  if [ "${FINISHLINE_DEMO_LMS:-off}" = on ]; then
    # Only to try Finishline out: anyone who reaches the demo LMS launches into its course.
    python manage.py seed_demo
    echo "deploy/stack.sh: THE DEMO LMS IS ON (FINISHLINE_DEMO_LMS=on): ${FINISHLINE_DEMO_LMS_URL:-$FINISHLINE_BASE_URL}/ launches anyone into its demo course; unset it for real use" >&2
  fi
  export NGINX_CONF=$STATE_DIR/nginx.conf
  STATE_DIR=$STATE_DIR APP_PORT=$FINISHLINE_APP_PORT \
    HTTPS_PORT=${FINISHLINE_HTTPS_PORT:-443} HTTP_PORT=${FINISHLINE_HTTP_PORT:-80} \
    HTTPS_BIND=${FINISHLINE_BIND:-0.0.0.0} HTTP_BIND=${FINISHLINE_BIND:-0.0.0.0} \
    SERVER_NAME="$SERVER_NAMES" TLS_CERT=$FINISHLINE_TLS_CERT TLS_KEY=$FINISHLINE_TLS_KEY \
    STATIC_ROOT=$ROOT/staticfiles NGINX_USER=$(id -un) \
    python - deploy/nginx.conf.template "$NGINX_CONF" <<'PY'
import os, string, sys
names = ["STATE_DIR", "APP_PORT", "HTTPS_PORT", "HTTP_PORT", "HTTPS_BIND", "HTTP_BIND",
         "SERVER_NAME", "TLS_CERT", "TLS_KEY", "STATIC_ROOT", "NGINX_USER"]
text = open(sys.argv[1]).read()
# Only ${NAME} of this list is replaced; nginx's own $variables stay.
for name in names:
    text = text.replace("${" + name + "}", os.environ[name])
open(sys.argv[2], "w").write(text)
PY
  nginx -t -q -c "$NGINX_CONF"
}

case "${1:-start}" in
  prepare)
    prepare
    ;;
  start)
    prepare
    # Counters of every web and worker process, added up by /metrics; emptied at each start.
    export PROMETHEUS_MULTIPROC_DIR=$STATE_DIR/prometheus
    rm -rf "$PROMETHEUS_MULTIPROC_DIR" && mkdir -p "$PROMETHEUS_MULTIPROC_DIR"
    echo "deploy/stack.sh: Finishline on $FINISHLINE_BASE_URL (readiness: $FINISHLINE_BASE_URL/readyz/)"
    exec honcho -f deploy/Procfile -d "$ROOT" start
    ;;
  *)
    fail "usage: deploy/stack.sh [start | prepare]"
    ;;
esac
