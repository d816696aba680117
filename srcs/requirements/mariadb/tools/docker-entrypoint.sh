#!/usr/bin/env bash
# First-run initialisation of the MariaDB data directory, then exec mariadbd.
# The store is built in a staging directory and moved into place with one
# rename, so a crash half-way leaves no half-initialised store behind.
set -Eeuo pipefail

readonly VOLUME=/var/lib/mysql
readonly DATADIR="$VOLUME/data"
readonly STAGING="$VOLUME/data.init"
readonly HEALTHCHECK_CNF=.my-healthcheck.cnf

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

# The accounts, for a new store and for one made before this policy: root
# logs in with its password only (no unix_socket, on the socket as anywhere),
# the OS user that ran mariadb-install-db gets no socket account either, and
# the healthcheck has its own account that can connect and nothing else.
# Every statement can run again: an interrupted migration is simply redone.
accounts_sql() {
	local root_password="$1" healthcheck_password="$2"
	cat <<-SQL
		FLUSH PRIVILEGES;
		ALTER USER 'root'@'localhost' IDENTIFIED VIA mysql_native_password
			USING PASSWORD($(sql_string "$root_password"));
		DROP USER IF EXISTS 'mysql'@'localhost', 'root'@'$HOSTNAME', 'root'@'127.0.0.1', 'root'@'::1',
			''@'localhost', ''@'$HOSTNAME';
		CREATE OR REPLACE USER 'healthcheck'@'localhost'
			IDENTIFIED BY $(sql_string "$healthcheck_password") WITH MAX_USER_CONNECTIONS 2;
	SQL
}

new_password() {
	head -c 24 /dev/urandom | base64 | tr -d '/+='
}

# The healthcheck's client options, readable by mysql only (the data folder
# is 0700): the same place and name as the official image's.
write_healthcheck_cnf() {
	local dir="$1" password="$2"
	# printf is a builtin: the password reaches no argv.
	printf '[mariadb-client]\nuser=healthcheck\npassword=%s\nprotocol=socket\nsocket=/run/mysqld/mysqld.sock\n' \
		"$password" | as_user mysql bash -c 'umask 0077 && cat >"$1.tmp" && sync "$1.tmp" && mv -f "$1.tmp" "$1"' \
		sh "$dir/$HEALTHCHECK_CNF"
}

# Bootstrap mode runs the SQL from stdin and exits: no server is left
# listening, and nothing here reaches argv, the environment or the log.
bootstrap_sql() {
	as_user mysql mariadbd --datadir="$1" --bootstrap --skip-networking
}

init_database() {
	local root_password user_password healthcheck_password
	root_password="$(read_secret db_root_password)"
	user_password="$(read_secret db_password)"
	healthcheck_password="$(new_password)"

	as_user mysql rm -rf "$STAGING"
	as_user mysql install -d -m 0700 "$STAGING"
	note "initialising a new database in $DATADIR"
	as_user mysql mariadb-install-db --datadir="$STAGING" --skip-test-db \
		--auth-root-authentication-method=socket >/dev/null

	{
		accounts_sql "$root_password" "$healthcheck_password"
		cat <<-SQL
			CREATE DATABASE \`$MYSQL_DATABASE\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
			CREATE USER '$MYSQL_USER'@'%' IDENTIFIED BY $(sql_string "$user_password");
			GRANT ALL PRIVILEGES ON \`$MYSQL_DATABASE\`.* TO '$MYSQL_USER'@'%';
		SQL
	} | bootstrap_sql "$STAGING"
	write_healthcheck_cnf "$STAGING" "$healthcheck_password"
	unset root_password user_password healthcheck_password

	as_user mysql sync
	# -T: never move the staging folder *into* an existing data folder.
	as_user mysql mv -T "$STAGING" "$DATADIR"
	note "database $MYSQL_DATABASE and user $MYSQL_USER created"
}

# Stores initialised before the policy above let root (and the OS user mysql)
# in over the socket without a password. The healthcheck's option file is
# written last, so its presence says the migration is complete.
migrate_accounts() {
	as_user mysql test -f "$DATADIR/$HEALTHCHECK_CNF" && return 0
	note "securing the accounts of an existing store (root by password only, healthcheck account)"
	local root_password healthcheck_password
	root_password="$(read_secret db_root_password)"
	healthcheck_password="$(new_password)"
	accounts_sql "$root_password" "$healthcheck_password" | bootstrap_sql "$DATADIR"
	write_healthcheck_cnf "$DATADIR" "$healthcheck_password"
	unset root_password healthcheck_password
	note "accounts secured"
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
			migrate_accounts
		else
			init_database
		fi
		exec_as mysql "$@"
	fi
	exec "$@"
}

_main "$@"
