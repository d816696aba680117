#!/usr/bin/env bash
# First-run initialisation of the MariaDB data directory, then exec mariadbd.
# The store is built in a staging directory and moved into place with one
# rename, so a crash half-way leaves no half-initialised store behind.
set -Eeuo pipefail

readonly VOLUME=/var/lib/mysql
readonly DATADIR="$VOLUME/data"
readonly STAGING="$VOLUME/data.init"

_log() { printf '%s [entrypoint] %s: %s\n' "$(date -u +%FT%TZ)" "$1" "$2"; }
note() { _log Note "$*"; }
warn() { _log Warning "$*" >&2; }
die() { _log ERROR "$*" >&2; exit 1; }

# Print the secret's value; die with what to do when it is missing.
read_secret() {
	local file="/run/secrets/$1"
	[[ -r "$file" ]] || die "secret $file is missing or unreadable; run \`invoke setup\` on the host to generate it"
	local value
	value="$(<"$file")"
	[[ -n "$value" ]] || die "secret $file is empty; delete secrets/$1 on the host and run \`invoke setup\`"
	printf '%s' "$value"
}

verify_minimum_env() {
	local missing=()
	local var
	for var in MYSQL_DATABASE MYSQL_USER; do
		[[ -n "${!var:-}" ]] || missing+=("$var")
	done
	if ((${#missing[@]})); then
		die "${missing[*]} not set; set it in .env (e.g. MYSQL_DATABASE=wordpress) and run \`invoke up\`"
	fi
	[[ "$MYSQL_DATABASE$MYSQL_USER" =~ ^[A-Za-z0-9_]+$ ]] ||
		die "MYSQL_DATABASE and MYSQL_USER may hold only letters, digits and _"
}

# Runs a command as the mysql user: the entrypoint keeps root (CHOWN, SETUID,
# SETGID, nothing else) only to hand the volume over and drop privileges.
as_mysql() {
	setpriv --reuid=mysql --regid=mysql --init-groups "$@"
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

	as_mysql rm -rf "$STAGING"
	as_mysql install -d -m 0700 "$STAGING"
	note "initialising a new database in $DATADIR"
	as_mysql mariadb-install-db --datadir="$STAGING" --skip-test-db \
		--auth-root-authentication-method=socket >/dev/null

	# Bootstrap mode runs the SQL from stdin and exits: no server is left
	# listening, and nothing here reaches argv, the environment or the log.
	as_mysql mariadbd --datadir="$STAGING" --bootstrap --skip-networking <<-SQL
		FLUSH PRIVILEGES;
		ALTER USER 'root'@'localhost' IDENTIFIED VIA unix_socket
			OR mysql_native_password USING PASSWORD($(sql_string "$root_password"));
		DROP USER IF EXISTS 'root'@'$HOSTNAME', ''@'localhost', ''@'$HOSTNAME';
		CREATE DATABASE \`$MYSQL_DATABASE\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
		CREATE USER '$MYSQL_USER'@'%' IDENTIFIED BY $(sql_string "$user_password");
		GRANT ALL PRIVILEGES ON \`$MYSQL_DATABASE\`.* TO '$MYSQL_USER'@'%';
	SQL
	unset root_password user_password

	as_mysql sync
	# -T: never move the staging folder *into* an existing data folder.
	as_mysql mv -T "$STAGING" "$DATADIR"
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
		if as_mysql test -d "$DATADIR/mysql"; then
			note "database exists, skipping initialisation"
		else
			init_database
		fi
		exec setpriv --reuid=mysql --regid=mysql --init-groups "$@"
	fi
	exec "$@"
}

_main "$@"
