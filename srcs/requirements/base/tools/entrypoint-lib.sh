# Helpers every entrypoint sources: logs, settings, secrets, dropping root.
# Entrypoints start as root with only CHOWN, SETUID and SETGID (compose drops
# every other capability) and use them to hand files over, then exec the
# daemon as its own user.

_log() { printf '%s [entrypoint] %s: %s\n' "$(date -u +%FT%TZ)" "$1" "$2"; }
note() { _log Note "$*"; }
warn() { _log Warning "$*" >&2; }
die() { _log ERROR "$*" >&2; exit 1; }

# Die naming every unset variable among the arguments.
require_env() {
	local var missing=()
	for var; do
		[[ -n "${!var:-}" ]] || missing+=("$var")
	done
	((${#missing[@]} == 0)) || die "${missing[*]} not set; set it in .env and run \`invoke up\`"
}

# Print a Docker secret's value; die with what to do when it is missing or empty.
read_secret() {
	local file="/run/secrets/$1"
	[[ -r "$file" ]] || die "secret $file is missing or unreadable; run \`invoke setup\` on the host to generate it"
	local value
	value="$(<"$file")"
	[[ -n "$value" ]] || die "secret $file is empty; delete secrets/$1 on the host and run \`invoke setup\`"
	printf '%s' "$value"
}

# Copy secrets into a folder the daemon's group can read (compose file
# secrets keep the host's root-only mode): share_secrets GROUP DIR NAME...
share_secrets() {
	local group="$1" dir="$2" name
	shift 2
	install -d -o root -g "$group" -m 0750 "$dir"
	for name; do
		read_secret "$name" >/dev/null
		install -o root -g "$group" -m 0440 "/run/secrets/$name" "$dir/$name"
	done
}

# Run a command as a user (its own group, no supplementary root groups).
as_user() {
	local user="$1"
	shift
	setpriv --reuid="$user" --regid="$user" --init-groups "$@"
}

# Replace this shell with the command, run as the user.
exec_as() {
	local user="$1"
	shift
	exec setpriv --reuid="$user" --regid="$user" --init-groups "$@"
}

# For daemons that reopen /dev/stdout or /proc/self/fd/2 after dropping root:
# the container's pipes belong to root until handed over.
give_stdio_to() {
	chown --dereference "$1" /proc/self/fd/1 /proc/self/fd/2
}
