#!/usr/bin/env bash
# Authenticates and pings; REDISCLI_AUTH keeps the password out of argv.
set -Eeuo pipefail
REDISCLI_AUTH="$(</run/secrets/redis_password)"
export REDISCLI_AUTH
[[ "$(redis-cli --no-auth-warning -h 127.0.0.1 ping)" == PONG ]]
