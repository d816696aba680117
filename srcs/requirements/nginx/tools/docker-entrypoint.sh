#!/usr/bin/env bash
# Renders the site templates for this DOMAIN_NAME, checks the result, execs nginx.
set -Eeuo pipefail

readonly TEMPLATES=/etc/nginx/templates
readonly SITES=/run/nginx/sites

_log() { printf '%s [entrypoint] %s: %s\n' "$(date -u +%FT%TZ)" "$1" "$2"; }
note() { _log Note "$*"; }
die() { _log ERROR "$*" >&2; exit 1; }

verify_minimum_env() {
	[[ -n "${DOMAIN_NAME:-}" ]] || die "DOMAIN_NAME is not set; set it in .env (e.g. DOMAIN_NAME=jdoe.42.fr) and run \`invoke up\`"
	local name
	for name in server.crt server.key; do
		[[ -r "/run/secrets/$name" ]] ||
			die "secret /run/secrets/$name is missing or unreadable; run \`invoke setup\` on the host"
	done
}

# Only ${DOMAIN_NAME} is substituted, so nginx's own $variables survive.
render_templates() {
	install -d -m 0755 "$SITES"
	local template
	for template in "$TEMPLATES"/*.conf.template; do
		envsubst '${DOMAIN_NAME}' <"$template" >"$SITES/$(basename "$template" .template)"
	done
	note "sites rendered for $DOMAIN_NAME"
}

_main() {
	if [[ "${1:-}" == -* ]]; then
		set -- nginx "$@"
	fi
	if [[ "$1" == nginx ]]; then
		verify_minimum_env
		render_templates
		nginx -t -q || die "the nginx configuration is invalid (see above)"
	fi
	exec "$@"
}

_main "$@"
