#!/usr/bin/env bash
# The host's tools reach the object cache through these (`docker exec`, as
# root), logged in as the maintenance user, which can read counters and empty
# the cache but not read or write a key:
#   cache-stats   INFO stats and clients, then `keys:<count>`
#   cache-flush   empties the cache (after a restore its content is stale)
set -Eeuo pipefail
REDISCLI_AUTH="$(</run/redis-local/maintenance)"
export REDISCLI_AUTH
cli() { redis-cli --no-auth-warning --user maintenance -h 127.0.0.1 "$@"; }
case "${0##*/}" in
cache-stats)
	cli INFO stats
	cli INFO clients
	printf 'keys:%s\n' "$(cli DBSIZE)"
	;;
cache-flush)
	[[ "$(cli FLUSHDB)" == OK ]]
	;;
*)
	printf '%s: call me as cache-stats or cache-flush\n' "$0" >&2
	exit 1
	;;
esac
