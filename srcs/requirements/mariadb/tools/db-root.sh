#!/usr/bin/env bash
# MariaDB's root for the host's tools (backup, restore, tests), through
# `docker exec`. Root logs in with its password only: it goes from the Docker
# secret into an option file that only root can read, on the container's tmpfs,
# removed on exit; never into argv, the environment or a log.
#   db-dump [mariadb-dump options]   a consistent dump (one transaction) to stdout
#   db-restore                       runs the SQL on stdin
#   db-sql [mariadb options]         the client, e.g. db-sql -N -B -e 'SHOW STATUS'
set -Eeuo pipefail

readonly SECRET=/run/secrets/db_root_password
fail() { printf '%s: %s\n' "${0##*/}" "$*" >&2; exit 1; }

[[ -r "$SECRET" ]] || fail "$SECRET is missing or unreadable (run as root: docker exec without --user)"
password="$(<"$SECRET")"
[[ -n "$password" ]] || fail "$SECRET is empty"
# The value is written double-quoted; these two cannot be.
[[ "$password" != *[\"$'\n'\\]* ]] || fail "the root password holds a quote, backslash or newline"

defaults="$(mktemp /tmp/db-root.XXXXXXXX.cnf)" # mode 0600
trap 'rm -f "$defaults"' EXIT
printf '[client]\nuser=root\nprotocol=socket\nsocket=/run/mysqld/mysqld.sock\npassword="%s"\n' "$password" >"$defaults"
unset password

status=0
case "${0##*/}" in
db-dump)
	mariadb-dump --defaults-extra-file="$defaults" --single-transaction --routines --events --triggers \
		--hex-blob "$@" || status=$?
	;;
db-restore)
	(($# == 0)) || fail "takes no arguments; the SQL comes on stdin"
	mariadb --defaults-extra-file="$defaults" --batch || status=$?
	;;
db-sql)
	mariadb --defaults-extra-file="$defaults" "$@" || status=$?
	;;
*)
	fail "call me as db-dump, db-restore or db-sql"
	;;
esac
exit "$status"
