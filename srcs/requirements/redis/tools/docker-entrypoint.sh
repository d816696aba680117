#!/usr/bin/env bash
# Writes the password from the Docker secret into a config include readable by
# the redis user only, then execs redis-server as that user.
set -Eeuo pipefail

_log() { printf '%s [entrypoint] %s: %s\n' "$(date -u +%FT%TZ)" "$1" "$2"; }
note() { _log Note "$*"; }
die() { _log ERROR "$*" >&2; exit 1; }

read_secret() {
	local file="/run/secrets/$1"
	[[ -r "$file" ]] || die "secret $file is missing or unreadable; run \`invoke setup\` on the host to generate it"
	local value
	value="$(<"$file")"
	[[ -n "$value" ]] || die "secret $file is empty; delete secrets/$1 on the host and run \`invoke setup\`"
	[[ "$value" =~ ^[A-Za-z0-9_-]+$ ]] || die "secrets/$1 may hold only letters, digits, - and _"
	printf '%s' "$value"
}

# Root writes it (root keeps no DAC_OVERRIDE, so into a root-owned folder),
# then hands it to the redis user.
write_auth_config() {
	install -d -o root -g redis -m 0750 /run/redis
	(
		umask 0077
		printf 'requirepass %s\n' "$(read_secret redis_password)" >/run/redis/auth.conf
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
		exec setpriv --reuid=redis --regid=redis --init-groups "$@"
	fi
	exec "$@"
}

_main "$@"
