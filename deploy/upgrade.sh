#!/usr/bin/env bash
# Upgrade an installation run by the systemd units, from its folder (/opt/finishline), after
# the new code is in place (git pull, or a new release unpacked):
#   1. drain: stop the workers (running tasks finish; queued ones wait in Redis)
#   2. install the new dependencies, collect static files
#   3. migrate and write the schedules, with no worker holding locks
#   4. start the workers; reload gunicorn gracefully (old requests finish on old processes)
# Take a backup first (deploy/backup.sh). Run as root; the service user runs the commands.
set -euo pipefail
cd "$(dirname "$0")/.."
set -a
. /etc/finishline/env  # root reads the secrets; the commands below inherit them
set +a
export FINISHLINE_ENV=production
as_app() { runuser -u finishline -- "$@"; }
systemctl stop finishline-worker.service
as_app .venv/bin/pip install -q -e .
as_app .venv/bin/python manage.py collectstatic --noinput -v 0
as_app .venv/bin/python manage.py migrate --noinput
as_app .venv/bin/python manage.py sync_schedules
systemctl start finishline-worker.service
systemctl reload finishline-web.service
echo "upgrade: done; check /readyz/"
