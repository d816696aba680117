# The certificate nginx serves, shared by docker-entrypoint.sh (as root, at
# start) and nginx-cert-watch (as www-data, on each renewal). Sourced after
# entrypoint-lib.sh.

readonly TLS=/run/nginx/tls
# acme mode: what the acme service publishes (the acme volume, read-only here).
readonly ACME_PUBLISHED=/var/lib/acme
readonly ACME_BUNDLE=bundle.pem
# The chain nginx was last given, world-readable: the healthcheck trusts
# exactly it in acme mode (certificates are public).
readonly SERVED_CHAIN=/run/nginx/served-chain.pem

# The bundle is lego:www-data 0640: root in this container has no
# DAC_OVERRIDE, so the entrypoint reads it as www-data, as the watcher does.
read_bundle() {
	if [[ "$(id -u)" == 0 ]]; then
		as_user www-data cat "$1"
	else
		cat "$1"
	fi
}

# The chain of a bundle, as install_bundle writes it (to compare).
bundle_chain() {
	sed -n '/^-----BEGIN CERTIFICATE-----$/,/^-----END CERTIFICATE-----$/p' <<<"$1"
}

# Write the private key and the chain of a published bundle (key + chain in
# one file, read once) to $TLS/server.key and server.crt, each written beside
# its name and renamed over it; refused when the key is not the certificate's.
install_bundle() {
	local bundle="$1" text key chain
	text="$(read_bundle "$bundle")" || return 1
	key="$(sed -n '/^-----BEGIN [A-Z ]*PRIVATE KEY-----$/,/^-----END [A-Z ]*PRIVATE KEY-----$/p' <<<"$text")"
	chain="$(bundle_chain "$text")"
	if [[ -z "$key" || -z "$chain" ]]; then
		warn "$bundle holds no private key or no certificate; keeping the current certificate"
		return 1
	fi
	if [[ "$(openssl pkey -pubout 2>/dev/null <<<"$key")" != "$(openssl x509 -pubkey -noout 2>/dev/null <<<"$chain")" ]]; then
		warn "$bundle: the private key is not the certificate's; keeping the current certificate"
		return 1
	fi
	rm -f "$TLS/.server.key.new" "$TLS/.server.crt.new"
	(
		umask 0277
		printf '%s\n' "$key" >"$TLS/.server.key.new"
		printf '%s\n' "$chain" >"$TLS/.server.crt.new"
	)
	mv -f "$TLS/.server.key.new" "$TLS/server.key"
	mv -f "$TLS/.server.crt.new" "$TLS/server.crt"
}

publish_served_chain() {
	rm -f "$SERVED_CHAIN.new"
	install -m 0644 "$TLS/server.crt" "$SERVED_CHAIN.new"
	mv -f "$SERVED_CHAIN.new" "$SERVED_CHAIN"
}
