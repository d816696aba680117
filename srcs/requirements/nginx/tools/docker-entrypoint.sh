#!/usr/bin/env bash
# Renders the site templates for this DOMAIN_NAME, checks the result, execs nginx.
set -Eeuo pipefail

readonly TEMPLATES=/etc/nginx/templates
readonly SITES=/run/nginx/sites
readonly TLS=/run/nginx/tls

source /usr/local/lib/inception/entrypoint-lib.sh

verify_minimum_env() {
	[[ -n "${DOMAIN_NAME:-}" ]] || die "DOMAIN_NAME is not set; set it in .env (e.g. DOMAIN_NAME=jdoe.42.fr) and run \`invoke up\`"
	local name
	for name in server.crt server.key; do
		[[ -r "/run/secrets/$name" ]] ||
			die "secret /run/secrets/$name is missing or unreadable; run \`invoke setup\` on the host"
	done
}

# Compose file secrets keep the host's root-only mode; nginx runs as www-data.
install_certificate() {
	install -d -m 0700 "$TLS"
	install -m 0400 /run/secrets/server.crt /run/secrets/server.key "$TLS/"
	# Owner last: root keeps CHOWN but not FOWNER, so no chmod after this.
	chown -R www-data:www-data "$TLS"
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
		install -d -m 0755 /run/nginx /var/lib/nginx /var/cache/nginx
		install_certificate
		render_templates
		# Last: once www-data owns them, root (without DAC_OVERRIDE) cannot write there.
		chown www-data:www-data /run/nginx /var/lib/nginx /var/cache/nginx
		# nginx reopens /dev/stdout for its access log: the container's pipes
		# must belong to the user it runs as.
		give_stdio_to www-data
		as_user www-data nginx -e stderr -t -q ||
			die "the nginx configuration is invalid (see above)"
		exec_as www-data "$@"
	fi
	exec "$@"
}

_main "$@"
