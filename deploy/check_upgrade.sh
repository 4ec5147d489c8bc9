#!/usr/bin/env bash
# Upgrade test: a database made and filled by an older release is migrated by this code, and
# keeps its data and its audit chain.
#   deploy/check_upgrade.sh [COMMIT]   (default: the commit in deploy/previous-release)
# Needs the git history (a full clone) and PostgreSQL on 127.0.0.1 (a scratch database is made
# and dropped). The older release runs with this checkout's virtualenv ($VENV, default .venv).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PY=$ROOT/${VENV:-.venv}/bin/python
commit=${1:-$(grep -v '^#' deploy/previous-release | head -n 1)}
if ! git cat-file -e "${commit}^{commit}" 2>/dev/null; then
  echo "check_upgrade: commit $commit is not in this clone's history; nothing checked" >&2
  exit 0
fi
work=$(mktemp -d)
db="upgrade_check_$$"
export DATABASE_URL="postgres://postgres@127.0.0.1:5432/$db"
cleanup() {
  rm -rf "$work"
  psql -h 127.0.0.1 -U postgres -q -c "DROP DATABASE IF EXISTS $db" postgres || true
}
trap cleanup EXIT
psql -h 127.0.0.1 -U postgres -q -c "CREATE DATABASE $db" postgres
git archive "$commit" | tar -x -C "$work"

echo "-- the older release ($commit) makes and fills the database"
(
  cd "$work"
  export FINISHLINE_ENV=demo LOG_LEVEL=WARNING
  "$PY" manage.py migrate --noinput -v 0
  "$PY" manage.py seed_demo >/dev/null
  "$PY" manage.py generate_cohort --course demo-course-safety-101 --learners 200 --days 14 \
    --seed 3 >/dev/null
  "$PY" manage.py score_risk >/dev/null
)
count() {
  psql "$DATABASE_URL" -tAc "SELECT (SELECT count(*) FROM completion_activity) || ' events, ' ||
    (SELECT count(*) FROM completion_riskscore) || ' scores, ' ||
    (SELECT count(*) FROM lti_tool_auditentry) || ' audit entries'"
}
before=$(count)
echo "   before: $before"

echo "-- this release migrates it"
export FINISHLINE_ENV=demo LOG_LEVEL=WARNING
"$PY" manage.py migrate --noinput -v 1 | grep -E "Applying|No migrations" || true
after=$(count)
echo "   after:  $after"
[ "$before" = "$after" ] || { echo "check_upgrade: data changed across the upgrade" >&2; exit 1; }
"$PY" manage.py verify_audit
"$PY" manage.py score_risk >/dev/null
"$PY" manage.py makemigrations --check --dry-run >/dev/null
echo "check_upgrade: upgraded from $commit with its data"
