#!/usr/bin/env bash
# PING as the healthcheck user (it may do nothing else); REDISCLI_AUTH keeps
# the password out of argv.
set -Eeuo pipefail
REDISCLI_AUTH="$(</run/redis-local/healthcheck)"
export REDISCLI_AUTH
[[ "$(redis-cli --no-auth-warning --user healthcheck -h 127.0.0.1 ping)" == PONG ]]
