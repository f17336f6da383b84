#!/bin/sh
# A consistent dump of the dlcoach PostgreSQL database (pg_dump's custom format,
# restorable with pg_restore), checked readable before it takes its final name,
# and dumps older than DLCOACH_BACKUP_KEEP_DAYS removed.
#
#   DATABASE_URL              the database (as dlcoach reads it; +asyncpg is dropped)
#   DLCOACH_BACKUP_DIR        where dumps go (default /var/backups/dlcoach)
#   DLCOACH_BACKUP_KEEP_DAYS  days a dump is kept (default 14): a person who erased
#                             their data is gone from the backups after this many days
#
# Restore into an empty database:
#   pg_restore --no-owner --dbname='postgresql://dlcoach@/dlcoach?host=/var/run/postgresql' FILE
set -eu

dir="${DLCOACH_BACKUP_DIR:-/var/backups/dlcoach}"
keep="${DLCOACH_BACKUP_KEEP_DAYS:-14}"
url="${DATABASE_URL:?DATABASE_URL is not set}"
case "$url" in
  postgresql*|postgres:*) ;;
  *) echo "backup.sh: DATABASE_URL is not a PostgreSQL URL; back up a SQLite file by copying it with sqlite3 .backup" >&2; exit 2 ;;
esac
url=$(printf '%s' "$url" | sed 's/^postgresql+[a-z0-9]*:/postgresql:/')
case "$keep" in
  ''|*[!0-9]*) echo "backup.sh: DLCOACH_BACKUP_KEEP_DAYS must be a whole number of days" >&2; exit 2 ;;
esac

mkdir -p "$dir"
umask 077  # the dumps hold personal data
stamp=$(date -u +%Y%m%dT%H%M%SZ)
partial="$dir/.dlcoach-$stamp.dump.partial"
trap 'rm -f "$partial"' EXIT
pg_dump --format=custom --no-owner --dbname="$url" --file="$partial"
pg_restore --list "$partial" > /dev/null
mv "$partial" "$dir/dlcoach-$stamp.dump"
find "$dir" -maxdepth 1 -name 'dlcoach-*.dump' -mtime +"$keep" -delete
echo "backup.sh: wrote $dir/dlcoach-$stamp.dump"
