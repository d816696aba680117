#!/usr/bin/env bash
# Writes Redis's users (ACL) into a config include readable by the redis user
# only, then execs redis-server as that user.
set -Eeuo pipefail

source /usr/local/lib/inception/entrypoint-lib.sh

# Passwords of the accounts that only tools inside this container use (the
# healthcheck, cache-stats, cache-flush): made at each start, readable by root,
# which those tools run as (`docker exec`), not by redis.
readonly LOCAL_SECRETS=/run/redis-local

# Redis keeps only SHA-256 hashes of passwords in its config.
password_hash() {
	# printf is a builtin: the password reaches no argv.
	local sum
	sum="$(printf '%s' "$1" | sha256sum)"
	printf '#%s' "${sum%% *}"
}

new_local_password() {
	local name="$1" password
	password="$(head -c 32 /dev/urandom | base64 | tr -d '/+=\n')"
	printf '%s' "$password" >"$LOCAL_SECRETS/$name"
	password_hash "$password"
}

# Each client gets its own user with only the commands it sends; `default`
# (what a bare AUTH <password> or no AUTH at all logs in as) is off.
#  wordpress: the object cache drop-in (wordpress/conf/object-cache.php):
#    GET/MGET/SET/SETEX, DEL/UNLINK, SCAN (its flush and flush_group delete
#    the site's keys by pattern, so it needs no FLUSHDB), EVAL (the atomic
#    incr/decr script, whose GET and SET are checked against these same
#    rules), PING, and TTL (read-only, for the cache's expiry test). Any key:
#    the drop-in's prefix comes from WordPress's settings, not from here.
#  healthcheck: PING.
#  maintenance (the host's cache-stats and cache-flush): INFO, DBSIZE and
#    FLUSHDB (a restore empties the cache), and no key at all.
# AUTH and HELLO are always allowed; nothing else (CONFIG, DEBUG, MODULE, ACL,
# KEYS, MONITOR, CLIENT, SHUTDOWN, FLUSHALL, SAVE, REPLICAOF...) is granted.
write_acl_config() {
	install -d -o root -g redis -m 0750 /run/redis
	install -d -o root -g root -m 0700 "$LOCAL_SECRETS"
	(
		umask 0077
		local password wordpress healthcheck maintenance
		password="$(read_secret redis_password)"
		wordpress="$(password_hash "$password")"
		unset password
		healthcheck="$(new_local_password healthcheck)"
		maintenance="$(new_local_password maintenance)"
		cat >/run/redis/users.conf <<-ACL
			user default off resetpass resetkeys resetchannels -@all
			user wordpress on $wordpress resetkeys ~* resetchannels -@all +get +mget +set +setex +del +unlink +scan +eval +ttl +ping +quit
			user healthcheck on $healthcheck resetkeys resetchannels -@all +ping
			user maintenance on $maintenance resetkeys resetchannels -@all +info +dbsize +flushdb +ping
		ACL
	)
	chown redis:redis /run/redis/users.conf
	note "users wordpress (password from /run/secrets/redis_password), healthcheck and maintenance; default is off"
}

_main() {
	if [[ "${1:-}" == -* ]]; then
		set -- redis-server /etc/redis/redis.conf "$@"
	fi
	if [[ "$1" == redis-server ]]; then
		write_acl_config
		exec_as redis "$@"
	fi
	exec "$@"
}

_main "$@"
