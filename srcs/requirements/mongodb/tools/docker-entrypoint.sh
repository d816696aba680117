#!/usr/bin/env bash
# Gives the data folder to the ferretdb user, then execs FerretDB as that user
# on its SQLite backend.
set -Eeuo pipefail

readonly DATA=/var/lib/ferretdb

source /usr/local/lib/inception/entrypoint-lib.sh


_main() {
	if [[ "${1:-}" == -* ]]; then
		set -- ferretdb "$@"
	fi
	if [[ "$1" == ferretdb ]]; then
		chown ferretdb:ferretdb "$DATA"
		as_user ferretdb install -d -m 0700 "$DATA/sqlite" "$DATA/state"
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
		exec_as ferretdb "$@"
	fi
	exec "$@"
}

_main "$@"
