#!/usr/bin/env bash
# Creates the FTP account (sharing www-data's uid, so files uploaded by FTP
# and by WordPress belong to one owner), renders vsftpd.conf, execs vsftpd.
set -Eeuo pipefail

readonly DOCROOT=/var/www/html

_log() { printf '%s [entrypoint] %s: %s\n' "$(date -u +%FT%TZ)" "$1" "$2"; }
note() { _log Note "$*"; }
die() { _log ERROR "$*" >&2; exit 1; }

read_secret() {
	local file="/run/secrets/$1"
	[[ -r "$file" ]] || die "secret $file is missing or unreadable; run \`invoke setup\` on the host to generate it"
	local value
	value="$(<"$file")"
	[[ -n "$value" ]] || die "secret $file is empty; delete secrets/$1 on the host and run \`invoke setup\`"
	printf '%s' "$value"
}

verify_minimum_env() {
	local var missing=()
	for var in FTP_USER FTP_PASV_MIN_PORT FTP_PASV_MAX_PORT FTP_PASV_ADDRESS; do
		[[ -n "${!var:-}" ]] || missing+=("$var")
	done
	((${#missing[@]} == 0)) || die "${missing[*]} not set; set it in .env and run \`invoke up\`"
	[[ "$FTP_USER" =~ ^[a-z_][a-z0-9_-]{0,31}$ && "$FTP_USER" != root && "$FTP_USER" != www-data ]] ||
		die "FTP_USER=$FTP_USER must be a lower-case user name other than root and www-data"
}

# The account: www-data's uid and gid, home in the files volume, no shell.
create_account() {
	local uid gid password
	uid="$(id -u www-data)"
	gid="$(id -g www-data)"
	if ! id "$FTP_USER" >/dev/null 2>&1; then
		useradd --non-unique --uid "$uid" --gid "$gid" --no-create-home \
			--home-dir "$DOCROOT" --shell /usr/sbin/nologin "$FTP_USER"
	fi
	password="$(read_secret ftp_password)"
	# chpasswd reads "user:password" on stdin: nothing in argv.
	printf '%s:%s\n' "$FTP_USER" "$password" | chpasswd
	unset password
	note "FTP account $FTP_USER ready (uid $uid, root $DOCROOT)"
}

render_config() {
	install -d -m 0755 /run/vsftpd
	envsubst '${FTP_PASV_MIN_PORT} ${FTP_PASV_MAX_PORT} ${FTP_PASV_ADDRESS}' \
		</etc/vsftpd/vsftpd.conf.template >/run/vsftpd/vsftpd.conf
	printf '%s\n' "$FTP_USER" >/run/vsftpd/userlist
	note "passive ports $FTP_PASV_MIN_PORT-$FTP_PASV_MAX_PORT announced on $FTP_PASV_ADDRESS"
}

_main() {
	if [[ "$1" == vsftpd ]]; then
		verify_minimum_env
		[[ -r /run/secrets/server.crt && -r /run/secrets/server.key ]] ||
			die "the TLS certificate is missing in /run/secrets; run \`invoke setup\` on the host"
		create_account
		render_config
	fi
	exec "$@"
}

_main "$@"
