#!/usr/bin/env bash
# Renders the site templates for this DOMAIN_NAME, checks the result, execs nginx.
set -Eeuo pipefail

readonly TEMPLATES=/etc/nginx/templates
readonly SITES=/run/nginx/sites

source /usr/local/lib/inception/entrypoint-lib.sh
source /usr/local/lib/inception/nginx-tls.sh

verify_minimum_env() {
	[[ -n "${DOMAIN_NAME:-}" ]] || die "DOMAIN_NAME is not set; set it in .env (e.g. DOMAIN_NAME=jdoe.42.fr) and run \`invoke up\`"
	[[ "${HTTPS_PORT:-}" =~ ^[0-9]+$ ]] || die "HTTPS_PORT is \"${HTTPS_PORT:-}\", not a port number; set it in .env (e.g. HTTPS_PORT=443) and run \`invoke up\`"
	[[ "${TLS_MODE:-}" == local || "${TLS_MODE:-}" == acme ]] ||
		die "TLS_MODE is \"${TLS_MODE:-}\"; set it in .env to local (the project's CA) or acme (Let's Encrypt) and run \`invoke up\`"
	local name
	for name in server.crt server.key; do
		[[ -r "/run/secrets/$name" ]] ||
			die "secret /run/secrets/$name is missing or unreadable; run \`invoke setup\` on the host"
	done
}

# Compose file secrets keep the host's root-only mode; nginx runs as www-data.
# acme mode: the certificate the acme service published, once there is one;
# until then the local CA's, so that nginx starts and the ACME CA's challenge
# can reach the acme service through it.
install_certificate() {
	install -d -m 0700 "$TLS"
	install -m 0400 /run/secrets/server.crt /run/secrets/server.key "$TLS/"
	if [[ "$TLS_MODE" == acme ]]; then
		if [[ -e "$ACME_PUBLISHED/$ACME_BUNDLE" ]] && install_bundle "$ACME_PUBLISHED/$ACME_BUNDLE"; then
			note "serving the certificate the acme service published"
		else
			note "no ACME certificate yet: serving the local CA's until the acme service publishes one"
		fi
		publish_served_chain
	fi
	# Owner last: root keeps CHOWN but not FOWNER, so no chmod after this.
	chown -R www-data:www-data "$TLS"
}

# What TLS_MODE changes: the sites' TCP listener (port 443, or a unix socket
# behind acme mode's TLS front) and the files tls-modes/<mode>/ adds.
render_tls_mode() {
	# Once per container (TLS_MODE cannot change without a new one); a
	# `reload` runs as root without DAC_OVERRIDE in www-data's /run/nginx.
	[[ "$(readlink /run/nginx/tls-mode)" == "/etc/nginx/tls-modes/$TLS_MODE" ]] ||
		ln -sfn "/etc/nginx/tls-modes/$TLS_MODE" /run/nginx/tls-mode
	if [[ "$TLS_MODE" == acme ]]; then
		HTTPS_LISTEN="unix:/run/nginx/https.sock proxy_protocol"
	else
		HTTPS_LISTEN=443
	fi
	export HTTPS_LISTEN
	local name
	for name in listen listen-default; do
		envsubst '${HTTPS_LISTEN}' <"/etc/nginx/suite/$name.conf.template" >"/run/nginx/$name.conf"
	done
}

# The server line of a kept-alive upstream block. nginx resolves its name when
# it loads the configuration and refuses to start when the name is unknown (the
# app's container is down): then the block gets a server marked down instead,
# every request takes the site's @resolved fallback (looked up per request),
# and the next `docker-entrypoint.sh reload` (`invoke up` runs it) restores
# the kept-alive path.
upstream_server() {
	local host="$1" port="$2"
	if getent hosts "$host" >/dev/null; then
		printf '%s:%s' "$host" "$port"
	else
		warn "$host does not resolve yet: its site is served without kept-alive connections until nginx is reloaded"
		printf '127.0.0.1:%s down' "$port"
	fi
}

# Only the names listed are substituted, so nginx's own $variables survive.
render_templates() {
	install -d -m 0755 "$SITES"
	local template
	STATIC_SERVER="$(upstream_server static 8080)" TODO_SERVER="$(upstream_server todo 8000)"
	export STATIC_SERVER TODO_SERVER
	for template in "$TEMPLATES"/*.conf.template; do
		envsubst '${DOMAIN_NAME} ${STATIC_SERVER} ${TODO_SERVER}' <"$template" >"$SITES/$(basename "$template" .template)"
	done
	# Alt-Svc names the port clients reach, which is HTTPS_PORT, not 443.
	envsubst '${HTTPS_PORT}' </etc/nginx/suite/alt-svc.conf.template >/run/nginx/alt-svc.conf
	# How long a DNS answer is kept. On a swarm (srcs/swarm.yml: 1s) a task
	# leaves DNS 2 s before its stop signal, and nginx must have forgotten it
	# by then: a POST sent to a PHP-FPM that stopped taking connections fails.
	[[ "${NGINX_DNS_VALID:=10s}" =~ ^[0-9]{1,3}s$ ]] ||
		die "NGINX_DNS_VALID must be a number of seconds such as 10s, not $NGINX_DNS_VALID"
	printf 'resolver 127.0.0.11 valid=%s ipv6=off;\n' "$NGINX_DNS_VALID" >/run/nginx/resolver.conf
	render_tls_mode
	note "sites rendered for $DOMAIN_NAME (TLS_MODE=$TLS_MODE)"
}

# The address the host's own requests come from: with Docker's userland proxy
# off, a request from the host to the published port reaches nginx from the
# gateway of the network nginx is published on (its default route). Read from
# the kernel's routing table, so no network's subnet is written down anywhere.
default_gateway() {
	local iface destination gateway rest
	while read -r iface destination gateway rest; do
		if [[ "$destination" == 00000000 && "$gateway" != 00000000 ]]; then
			# Little-endian hex, as the kernel prints it.
			printf '%d.%d.%d.%d\n' "0x${gateway:6:2}" "0x${gateway:4:2}" "0x${gateway:2:2}" "0x${gateway:0:2}"
			return
		fi
	done < <(tail -n +2 /proc/net/route)
}

# Who reaches Adminer: this machine, plus ADMINER_ALLOW (addresses or CIDR
# ranges, comma-separated). Everyone else gets the "restricted" page.
render_adminer_access() {
	local gateway entry entries=() allowed=(127.0.0.1 ::1)
	gateway="$(default_gateway)"
	[[ -n "$gateway" ]] && allowed+=("$gateway")
	IFS=, read -ra entries <<<"${ADMINER_ALLOW:-}"
	for entry in "${entries[@]}"; do
		entry="${entry//[[:space:]]/}"
		[[ -n "$entry" ]] || continue
		[[ "$entry" =~ ^([0-9]{1,3}(\.[0-9]{1,3}){3}|[0-9A-Fa-f:]*:[0-9A-Fa-f:.]*)(/[0-9]{1,3})?$ ]] ||
			die "ADMINER_ALLOW: \"$entry\" is not an address or CIDR range (e.g. 192.0.2.10 or 192.0.2.0/24); fix it in .env and run \`invoke up\`"
		allowed+=("$entry")
	done
	{
		printf '# Rendered at start from ADMINER_ALLOW (see the adminer site).\n'
		printf 'allow %s;\n' "${allowed[@]}"
		printf 'deny all;\n'
	} >/run/nginx/adminer-allow.conf
	note "Adminer answers to ${allowed[*]} only"
}

_main() {
	if [[ "${1:-}" == -* ]]; then
		set -- nginx "$@"
	fi
	# `docker exec <nginx> docker-entrypoint.sh reload` (invoke up, after it
	# recreated an app): the sites again with the apps' current addresses, then
	# a graceful reload.
	if [[ "$1" == reload ]]; then
		verify_minimum_env
		render_templates
		# The test opens the access log (/dev/stdout): this exec's own pipes.
		give_stdio_to www-data
		as_user www-data nginx -e stderr -t -q || die "the nginx configuration is invalid (see above)"
		exec_as www-data nginx -e stderr -s reload
	fi
	if [[ "$1" == nginx ]]; then
		verify_minimum_env
		install -d -m 0755 /run/nginx /var/lib/nginx /var/cache/nginx
		install_certificate
		render_templates
		render_adminer_access
		# Last: once www-data owns them, root (without DAC_OVERRIDE) cannot write there.
		chown www-data:www-data /run/nginx /var/lib/nginx /var/cache/nginx
		# nginx reopens /dev/stdout for its access log: the container's pipes
		# must belong to the user it runs as.
		give_stdio_to www-data
		as_user www-data nginx -e stderr -t -q ||
			die "the nginx configuration is invalid (see above)"
		if [[ "$TLS_MODE" == acme ]]; then
			# Beside nginx, as www-data: installs each renewed certificate
			# and reloads (see nginx-cert-watch); nginx becomes its parent.
			as_user www-data nginx-cert-watch &
		fi
		exec_as www-data "$@"
	fi
	exec "$@"
}

_main "$@"
