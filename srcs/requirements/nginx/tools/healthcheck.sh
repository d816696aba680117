#!/usr/bin/env bash
# An HTTPS request through the real listener, verified against the project CA.
set -Eeuo pipefail
exec curl --fail --silent --show-error --max-time 5 \
	--cacert /run/secrets/ca.crt \
	--resolve "${DOMAIN_NAME}:443:127.0.0.1" \
	"https://${DOMAIN_NAME}/nginx-health" -o /dev/null
