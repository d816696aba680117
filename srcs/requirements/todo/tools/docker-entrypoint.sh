#!/usr/bin/env bash
# Hands the store's password and the session key to the todo user (compose
# file secrets keep the host's root-only mode), then execs gunicorn as that user.
set -Eeuo pipefail

readonly APP_SECRETS=/run/todo-secrets

source /usr/local/lib/inception/entrypoint-lib.sh

_main() {
	if [[ "$1" == gunicorn ]]; then
		share_secrets todo "$APP_SECRETS" mongodb_password todo_session_key
		exec_as todo "$@"
	fi
	exec "$@"
}

_main "$@"
