#!/usr/bin/env bash
# An HTTPS request through the real listener (in acme mode through the TLS
# front on 443), with the certificate verified: against the project CA in
# local mode; in acme mode against exactly the chain nginx was given (curl
# accepts a trusted certificate below the root), since the ACME CA's root
# need not be in any store here. acme mode also needs its certificate watcher.
set -Eeuo pipefail
trust=/run/secrets/ca.crt
if [[ "${TLS_MODE:-local}" == acme ]]; then
	trust=/run/nginx/served-chain.pem
	pid="$(<"/run/nginx/cert-watch.pid")"
	grep -qs nginx-cert-watch "/proc/$pid/cmdline" || { echo "nginx-cert-watch is not running" >&2; exit 1; }
fi
exec curl --fail --silent --show-error --max-time 5 \
	--cacert "$trust" \
	--resolve "${DOMAIN_NAME}:443:127.0.0.1" \
	"https://${DOMAIN_NAME}/nginx-health" -o /dev/null
