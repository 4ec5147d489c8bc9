#!/usr/bin/env bash
# A consistent backup of Finishline's database (pg_dump's custom format, one snapshot, the
# application may keep running): deploy/backup.sh [FILE]  (default: finishline-<UTC time>.dump)
# Redis holds only the queue and caches: nothing in it needs a backup. The tool's signing keys
# are in the database, so this file is secret: store it encrypted, like the SECRET_KEY file.
set -euo pipefail
case "${DATABASE_URL:-}" in postgres://*|postgresql://*) ;; *) echo "set DATABASE_URL" >&2; exit 2 ;; esac
out=${1:-finishline-$(date -u +%Y%m%dT%H%M%SZ).dump}
(umask 077 && pg_dump --format=custom --no-owner --no-privileges --file="$out" "$DATABASE_URL")
echo "backup: $out ($(du -h "$out" | cut -f1))"
