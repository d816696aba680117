#!/usr/bin/env bash
# Creates the FTP account (sharing www-data's uid, so files uploaded by FTP
# and by WordPress belong to one owner), renders vsftpd.conf, execs vsftpd.
set -Eeuo pipefail

readonly DOCROOT=/var/www/html

source /usr/local/lib/inception/entrypoint-lib.sh


verify_minimum_env() {
	require_env FTP_USER FTP_PASV_MIN_PORT FTP_PASV_MAX_PORT FTP_PASV_ADDRESS
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
