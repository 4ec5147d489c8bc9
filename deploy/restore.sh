#!/usr/bin/env bash
# Restore a backup into a NEW database, then check it: deploy/restore.sh FILE TARGET_DATABASE_URL
# Refuses a target that already has tables. After restoring: point DATABASE_URL at the target,
# run `manage.py migrate` (a backup of an older release is upgraded then) and start the stack.
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: deploy/restore.sh FILE postgres://…/NEW_DATABASE" >&2; exit 2; }
file=$1
target=$2
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-${VENV:-.venv}/bin/python}
name=${target##*/}
name=${name%%\?*}
server=${target%/*}/postgres
if ! psql "$server" -tAc "SELECT 1 FROM pg_database WHERE datname = '$name'" | grep -q 1; then
  psql "$server" -qc "CREATE DATABASE \"$name\""
fi
tables=$(psql "$target" -tAc "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'")
[ "$tables" = 0 ] || { echo "restore: $name already has $tables tables; restore into a new database" >&2; exit 1; }
pg_restore --no-owner --no-privileges --exit-on-error --dbname="$target" "$file"
echo "restore: $file restored into $name"
# The audit chain must be whole in the copy: any edited or missing entry fails here.
DATABASE_URL=$target "$PYTHON" manage.py verify_audit
