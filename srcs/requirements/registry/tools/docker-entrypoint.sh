#!/usr/bin/env bash
# Hands the TLS key (a root-only Swarm secret) and the storage to the
# registry's own user, then execs the registry as that user.
set -Eeuo pipefail

readonly TLS=/run/registry/tls
readonly STORAGE=/var/lib/docker-registry

source /usr/local/lib/inception/entrypoint-lib.sh

_main() {
	if [[ "$1" == docker-registry ]]; then
		read_secret registry.crt >/dev/null
		read_secret registry.key >/dev/null
		install -d -m 0700 "$TLS"
		install -m 0400 /run/secrets/registry.crt /run/secrets/registry.key "$TLS/"
		# Owner last: root keeps CHOWN but not FOWNER.
		chown -R docker-registry:docker-registry "$TLS"
		chown docker-registry:docker-registry "$STORAGE"
		note "serving the image registry on :5000 (TLS)"
		exec_as docker-registry "$@"
	fi
	exec "$@"
}

_main "$@"
