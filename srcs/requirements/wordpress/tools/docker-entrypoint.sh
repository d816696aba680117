#!/usr/bin/env bash
# Puts WordPress on the files volume (first start, or a newer WordPress in the
# image), installs the site and its users, then execs PHP-FPM.
set -Eeuo pipefail

readonly SRC=/usr/src/wordpress
readonly OURS=/usr/src/inception
readonly DOCROOT=/var/www/html
# PHP workers run as www-data, but compose file secrets keep the host's 0600
# root ownership; the ones PHP reads are copied to a tmpfs only www-data reads.
readonly PHP_SECRETS=/run/wordpress-secrets

source /usr/local/lib/inception/entrypoint-lib.sh


verify_minimum_env() {
	require_env DOMAIN_NAME MYSQL_DATABASE MYSQL_USER WP_TITLE WP_ADMIN_USER WP_ADMIN_EMAIL WP_USER WP_USER_EMAIL
	[[ "${WP_ADMIN_USER,,}" != *admin* ]] ||
		die "WP_ADMIN_USER=$WP_ADMIN_USER contains \"admin\"; choose another name in .env"
}

wp_version() {
	php -r 'include $argv[1]; echo $wp_version;' "$1/wp-includes/version.php"
}

install_php_secrets() {
	share_secrets www-data "$PHP_SECRETS" db_password wp_salt redis_password ca.crt
	export WORDPRESS_SECRETS_DIR="$PHP_SECRETS"
}

# Core files from the image; wp-content and wp-config.php stay the user's.
sync_core() {
	local image_version volume_version=""
	image_version="$(wp_version "$SRC")"
	if [[ -f "$DOCROOT/wp-includes/version.php" ]]; then
		volume_version="$(wp_version "$DOCROOT")"
	fi
	if [[ -z "$volume_version" ]]; then
		note "copying WordPress $image_version to the files volume"
	elif php -r 'exit(version_compare($argv[1], $argv[2], ">") ? 0 : 1);' "$image_version" "$volume_version"; then
		note "updating WordPress core $volume_version -> $image_version (wp-content and wp-config.php kept)"
	else
		[[ "$image_version" == "$volume_version" ]] ||
			warn "the volume has WordPress $volume_version, newer than the image's $image_version; keeping it"
		note "WordPress $volume_version in place, core files unchanged"
		return
	fi
	tar -C "$SRC" --exclude=./wp-content -cf - . | tar -C "$DOCROOT" --no-same-owner -xf -
	# New bundled themes and plugins are added; nothing in wp-content is
	# replaced. (tar, not `cp --update=none`: bookworm's coreutils 9.1 lacks it.)
	mkdir -p "$DOCROOT/wp-content"
	tar -C "$SRC/wp-content" -cf - . | tar -C "$DOCROOT/wp-content" --no-same-owner --skip-old-files -xf -
}

install_config() {
	if [[ -f "$DOCROOT/wp-config.php" ]]; then
		note "wp-config.php exists, keeping it"
		return
	fi
	install -m 0640 "$OURS/wp-config.php" "$DOCROOT/wp-config.php"
	note "wp-config.php written"
}

# Our drop-ins (the Redis object cache, the database-error page): installed,
# and kept up to date, unless the user replaced one with their own (which
# lacks our marker line).
install_drop_ins() {
	local name target
	mkdir -p "$DOCROOT/wp-content/mu-plugins"
	for name in object-cache.php db-error.php mu-plugins/inception-cache-refresh.php mu-plugins/inception-hardening.php; do
		target="$DOCROOT/wp-content/$name"
		if [[ -f "$target" ]] && ! grep -q '^ \* Inception-Drop-In:' "$target"; then
			note "wp-content/$name is not ours, leaving it alone"
		elif ! cmp -s "$OURS/$(basename "$name")" "$target"; then
			install -m 0644 "$OURS/$(basename "$name")" "$target"
			note "drop-in wp-content/$name installed"
		fi
	done
}

setup_site() {
	local admin_password user_password
	admin_password="$(read_secret wp_admin_password)"
	user_password="$(read_secret wp_user_password)"
	# JSON on stdin: the passwords are URL-safe, but escape quotes anyway.
	# Replicas sharing the files install the site one at a time.
	printf '{"admin_password": "%s", "user_password": "%s"}' \
		"${admin_password//\"/\\\"}" "${user_password//\"/\\\"}" |
		as_user www-data flock --wait 300 "$DOCROOT/.inception-setup.lock" php /usr/local/lib/inception/wp-setup.php
}

_main() {
	if [[ "${1:-}" == -* ]]; then
		set -- php-fpm -F "$@"
	fi
	if [[ "$1" == __prepare_files ]]; then
		# On a swarm the replicas share one files folder: one prepares it at
		# a time (a dotfile: nginx serves none).
		exec 9>"$DOCROOT/.inception-setup.lock"
		flock --wait 300 9 ||
			die "another WordPress replica has held $DOCROOT/.inception-setup.lock for 5 minutes"
		sync_core
		install_config
		install_drop_ins
		exit
	fi
	if [[ "$1" == php-fpm ]]; then
		verify_minimum_env
		# Mode first, owner last: root keeps CHOWN but not FOWNER.
		install -d -m 0755 /run/php
		chown www-data:www-data /run/php
		chown www-data:www-data "$DOCROOT"
		install_php_secrets
		as_user www-data "$0" __prepare_files
		setup_site
		note "starting PHP-FPM as www-data"
		# PHP-FPM reopens /proc/self/fd/2 for its log: the container's pipes
		# must belong to the user it runs as.
		give_stdio_to www-data
		exec_as www-data "$@"
	fi
	exec "$@"
}

_main "$@"
