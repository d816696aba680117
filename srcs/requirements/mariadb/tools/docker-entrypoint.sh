#!/usr/bin/env bash
# First-run initialisation of the MariaDB data directory, then exec mariadbd.
# The store is built in a staging directory and moved into place with one
# rename, so a crash half-way leaves no half-initialised store behind.
set -Eeuo pipefail

readonly VOLUME=/var/lib/mysql
readonly DATADIR="$VOLUME/data"
readonly STAGING="$VOLUME/data.init"

source /usr/local/lib/inception/entrypoint-lib.sh


verify_minimum_env() {
	require_env MYSQL_DATABASE MYSQL_USER
	[[ "$MYSQL_DATABASE$MYSQL_USER" =~ ^[A-Za-z0-9_]+$ ]] ||
		die "MYSQL_DATABASE and MYSQL_USER may hold only letters, digits and _"
}

# Quote a value as an SQL string literal.
sql_string() {
	local value="${1//\\/\\\\}"
	printf "'%s'" "${value//\'/\\\'}"
}

init_database() {
	local root_password user_password
	root_password="$(read_secret db_root_password)"
	user_password="$(read_secret db_password)"

	as_user mysql rm -rf "$STAGING"
	as_user mysql install -d -m 0700 "$STAGING"
	note "initialising a new database in $DATADIR"
	as_user mysql mariadb-install-db --datadir="$STAGING" --skip-test-db \
		--auth-root-authentication-method=socket >/dev/null

	# Bootstrap mode runs the SQL from stdin and exits: no server is left
	# listening, and nothing here reaches argv, the environment or the log.
	as_user mysql mariadbd --datadir="$STAGING" --bootstrap --skip-networking <<-SQL
		FLUSH PRIVILEGES;
		ALTER USER 'root'@'localhost' IDENTIFIED VIA unix_socket
			OR mysql_native_password USING PASSWORD($(sql_string "$root_password"));
		DROP USER IF EXISTS 'root'@'$HOSTNAME', ''@'localhost', ''@'$HOSTNAME';
		CREATE DATABASE \`$MYSQL_DATABASE\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
		CREATE USER '$MYSQL_USER'@'%' IDENTIFIED BY $(sql_string "$user_password");
		GRANT ALL PRIVILEGES ON \`$MYSQL_DATABASE\`.* TO '$MYSQL_USER'@'%';
	SQL
	unset root_password user_password

	as_user mysql sync
	# -T: never move the staging folder *into* an existing data folder.
	as_user mysql mv -T "$STAGING" "$DATADIR"
	note "database $MYSQL_DATABASE and user $MYSQL_USER created"
}

_main() {
	# `docker compose run mariadb bash` gets a shell; options go to mariadbd.
	if [[ "${1:-}" == -* ]]; then
		set -- mariadbd "$@"
	fi
	if [[ "$1" == mariadbd ]]; then
		verify_minimum_env
		# Mode first, owner last: root keeps CHOWN but not FOWNER.
		install -d -m 0755 /run/mysqld
		chown mysql:mysql /run/mysqld
		chown mysql:mysql "$VOLUME"
		# Tested as mysql: the data folder is 0700 and root keeps no DAC_OVERRIDE.
		if as_user mysql test -d "$DATADIR/mysql"; then
			note "database exists, skipping initialisation"
		else
			init_database
		fi
		exec_as mysql "$@"
	fi
	exec "$@"
}

_main "$@"
