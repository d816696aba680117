#!/usr/bin/env bash
# Gives the data folder to the ferretdb user, then execs FerretDB as that user
# on its SQLite backend.
set -Eeuo pipefail

readonly DATA=/var/lib/ferretdb

_log() { printf '%s [entrypoint] %s: %s\n' "$(date -u +%FT%TZ)" "$1" "$2"; }
note() { _log Note "$*"; }
die() { _log ERROR "$*" >&2; exit 1; }

read_secret() {
	local file="/run/secrets/$1"
	[[ -r "$file" ]] || die "secret $file is missing or unreadable; run \`invoke setup\` on the host to generate it"
	local value
	value="$(<"$file")"
	[[ -n "$value" ]] || die "secret $file is empty; delete secrets/$1 on the host and run \`invoke setup\`"
	printf '%s' "$value"
}

_main() {
	if [[ "${1:-}" == -* ]]; then
		set -- ferretdb "$@"
	fi
	if [[ "$1" == ferretdb ]]; then
		chown ferretdb:ferretdb "$DATA"
		setpriv --reuid=ferretdb --regid=ferretdb --init-groups install -d -m 0700 "$DATA/sqlite" "$DATA/state"
		note "FerretDB on SQLite in $DATA/sqlite (one database file per database)"
		# The todo app's user, created on first start (SCRAM-SHA-256). FerretDB
		# reads the password from its environment: this process's only, never
		# the container's configuration.
		FERRETDB_SETUP_PASSWORD="$(read_secret mongodb_password)"
		export FERRETDB_SETUP_PASSWORD
		# synchronous(full): each commit is fsynced (WAL mode) before FerretDB
		# acknowledges the write. Telemetry off: the stack works offline.
		set -- "$@" \
			--handler=sqlite \
			"--sqlite-url=file:$DATA/sqlite/?_pragma=synchronous(full)" \
			--state-dir="$DATA/state" \
			--listen-addr=:27017 \
			--telemetry=disable \
			--test-enable-new-auth \
			--setup-database=todo \
			--setup-username=todo \
			--log-level=info
		exec setpriv --reuid=ferretdb --regid=ferretdb --init-groups "$@"
	fi
	exec "$@"
}

_main "$@"
