#!/usr/bin/env bash
# Hands the store's password to the todo user (compose file secrets keep the
# host's root-only mode), then execs gunicorn as that user.
set -Eeuo pipefail

readonly APP_SECRETS=/run/todo-secrets

source /usr/local/lib/inception/entrypoint-lib.sh

_main() {
	if [[ "$1" == gunicorn ]]; then
		[[ -s /run/secrets/mongodb_password ]] ||
			die "secret /run/secrets/mongodb_password is missing or empty; run \`invoke setup\` on the host"
		install -d -o root -g todo -m 0750 "$APP_SECRETS"
		install -o root -g todo -m 0440 /run/secrets/mongodb_password "$APP_SECRETS/mongodb_password"
		export MONGODB_PASSWORD_FILE="$APP_SECRETS/mongodb_password"
		exec_as todo "$@"
	fi
	exec "$@"
}

_main "$@"
