#!/usr/bin/env bash
# Gives the data folder to the ferretdb user, then execs FerretDB as that user
# on its SQLite backend.
set -Eeuo pipefail

readonly DATA=/var/lib/ferretdb

_log() { printf '%s [entrypoint] %s: %s\n' "$(date -u +%FT%TZ)" "$1" "$2"; }
note() { _log Note "$*"; }

_main() {
	if [[ "${1:-}" == -* ]]; then
		set -- ferretdb "$@"
	fi
	if [[ "$1" == ferretdb ]]; then
		install -d -o ferretdb -g ferretdb -m 0700 "$DATA/sqlite" "$DATA/state"
		chown ferretdb:ferretdb "$DATA"
		note "FerretDB on SQLite in $DATA/sqlite (one database file per database)"
		# synchronous(full): each commit is fsynced (WAL mode) before FerretDB
		# acknowledges the write. Telemetry off: the stack works offline.
		set -- "$@" \
			--handler=sqlite \
			"--sqlite-url=file:$DATA/sqlite/?_pragma=synchronous(full)" \
			--state-dir="$DATA/state" \
			--listen-addr=:27017 \
			--telemetry=disable \
			--log-level=info
		exec setpriv --reuid=ferretdb --regid=ferretdb --init-groups "$@"
	fi
	exec "$@"
}

_main "$@"
