#!/usr/bin/env bash
# Hands the store's password to the todo user (compose file secrets keep the
# host's root-only mode), then execs gunicorn as that user.
set -Eeuo pipefail

readonly APP_SECRETS=/run/todo-secrets

_log() { printf '%s [entrypoint] %s: %s\n' "$(date -u +%FT%TZ)" "$1" "$2"; }
die() { _log ERROR "$*" >&2; exit 1; }

_main() {
	if [[ "$1" == gunicorn ]]; then
		[[ -s /run/secrets/mongodb_password ]] ||
			die "secret /run/secrets/mongodb_password is missing or empty; run \`invoke setup\` on the host"
		install -d -o root -g todo -m 0750 "$APP_SECRETS"
		install -o root -g todo -m 0440 /run/secrets/mongodb_password "$APP_SECRETS/mongodb_password"
		export MONGODB_PASSWORD_FILE="$APP_SECRETS/mongodb_password"
		exec setpriv --reuid=todo --regid=todo --init-groups "$@"
	fi
	exec "$@"
}

_main "$@"
