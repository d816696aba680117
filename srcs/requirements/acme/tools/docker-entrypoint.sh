#!/usr/bin/env bash
# Hands the acme volume and the CA bundle to the lego user, then execs the
# scheduler (acme-renewer) as that user.
set -Eeuo pipefail

readonly STATE=/var/lib/acme
readonly RUNTIME=/run/acme

source /usr/local/lib/inception/entrypoint-lib.sh

verify_minimum_env() {
	require_env DOMAIN_NAME ACME_DIRECTORY
	[[ -n "${ACME_EMAIL:-}" ]] || die "ACME_EMAIL is not set; TLS_MODE=acme needs the ACME account's contact address: set it in .env (e.g. ACME_EMAIL=jdoe@example.com) and run \`invoke up\`"
}

# ACME_CA_BUNDLE's certificates (an empty file when the setting is empty: the
# Debian CA store is used). Compose file secrets keep the host's root-only
# mode; lego runs as its own user.
install_ca_bundle() {
	install -d -o root -g lego -m 0750 "$RUNTIME"
	if [[ -s /run/secrets/acme_ca.pem ]]; then
		install -o root -g lego -m 0440 /run/secrets/acme_ca.pem "$RUNTIME/ca.pem"
		export LEGO_CA_CERTIFICATES="$RUNTIME/ca.pem"
		note "trusting ACME_CA_BUNDLE's certificates for $ACME_DIRECTORY"
	fi
}

_main() {
	if [[ "${1:-}" == -* ]]; then
		set -- acme-renewer "$@"
	fi
	if [[ "$1" == acme-renewer ]]; then
		verify_minimum_env
		install_ca_bundle
		# The volume's root: lego's own folder and the published certificate
		# live in it (acme-renewer sets the modes; root has no FOWNER here).
		[[ "$(stat -c %U:%G "$STATE")" == lego:www-data ]] || chown lego:www-data "$STATE"
		exec_as lego "$@"
	fi
	exec "$@"
}

_main "$@"
