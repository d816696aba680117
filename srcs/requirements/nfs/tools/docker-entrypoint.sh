#!/usr/bin/env bash
# Prepares the run and recovery folders (tmpfs) and execs NFS-Ganesha.
set -Eeuo pipefail

source /usr/local/lib/inception/entrypoint-lib.sh

_main() {
	if [[ "$1" == ganesha.nfsd ]]; then
		install -d -m 0755 /run/ganesha /var/lib/nfs/ganesha
		note "exporting /export as NFSv4 /wordpress on :2049"
		exec "$@"
	fi
	exec "$@"
}

_main "$@"
