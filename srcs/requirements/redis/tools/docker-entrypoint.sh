#!/usr/bin/env bash
# Writes the password from the Docker secret into a config include readable by
# the redis user only, then execs redis-server as that user.
set -Eeuo pipefail

source /usr/local/lib/inception/entrypoint-lib.sh


# Root writes it (root keeps no DAC_OVERRIDE, so into a root-owned folder),
# then hands it to the redis user.
write_auth_config() {
	install -d -o root -g redis -m 0750 /run/redis
	(
		umask 0077
		local password
		password="$(read_secret redis_password)"
		# The value goes into a config line unquoted.
		[[ "$password" =~ ^[A-Za-z0-9_-]+$ ]] || die "secrets/redis_password may hold only letters, digits, - and _"
		printf 'requirepass %s\n' "$password" >/run/redis/auth.conf
	)
	chown redis:redis /run/redis/auth.conf
	note "password set from /run/secrets/redis_password"
}

_main() {
	if [[ "${1:-}" == -* ]]; then
		set -- redis-server /etc/redis/redis.conf "$@"
	fi
	if [[ "$1" == redis-server ]]; then
		write_auth_config
		exec_as redis "$@"
	fi
	exec "$@"
}

_main "$@"
