#!/usr/bin/env bash
# Healthy once a certificate is published that is not expired and covers
# DOMAIN_NAME (the first one can take a minute: `invoke up` waits for it).
set -Eeuo pipefail
readonly CERT=/var/lib/acme/cert.pem
openssl x509 -in "$CERT" -noout -checkend 0 >/dev/null || { echo "no valid certificate in $CERT yet" >&2; exit 1; }
openssl x509 -in "$CERT" -noout -checkhost "$DOMAIN_NAME" | grep -q ' does match certificate$' ||
	{ echo "$CERT does not cover $DOMAIN_NAME" >&2; exit 1; }
