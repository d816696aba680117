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

# Write the private key and the chain of a published bundle (key + chain in
# one file, read once, so the two always match) to $TLS/server.key and
# server.crt, each written beside its name and renamed over it.
install_bundle() {
	local bundle="$1" text key chain
	text="$(<"$bundle")" || return 1
	key="$(sed -n '/^-----BEGIN [A-Z ]*PRIVATE KEY-----$/,/^-----END [A-Z ]*PRIVATE KEY-----$/p' <<<"$text")"
	chain="$(sed -n '/^-----BEGIN CERTIFICATE-----$/,/^-----END CERTIFICATE-----$/p' <<<"$text")"
	if [[ -z "$key" || -z "$chain" ]]; then
		warn "$bundle holds no private key or no certificate; keeping the current certificate"
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

# The chain of a bundle, as install_bundle writes it (to compare).
bundle_chain() {
	sed -n '/^-----BEGIN CERTIFICATE-----$/,/^-----END CERTIFICATE-----$/p' "$1"
}

publish_served_chain() {
	rm -f "$SERVED_CHAIN.new"
	install -m 0644 "$TLS/server.crt" "$SERVED_CHAIN.new"
	mv -f "$SERVED_CHAIN.new" "$SERVED_CHAIN"
}
