#!/usr/bin/env bash
# A query as the healthcheck account, which can connect and do nothing else
# (root needs its password). Its option file is in the data folder, which only
# mysql can read, so the check runs as mysql, as the official image's does.
set -Eeuo pipefail
if ((EUID == 0)); then
	exec setpriv --reuid=mysql --regid=mysql --init-groups "$0" "$@"
fi
# On a Galera cluster the option file is in /run/mysqld (see the entrypoint),
# and a node takes clients only once it is in step with the cluster. A donor
# stays healthy while it sends a joining node its copy: Swarm would otherwise
# stop it halfway, and the joiner with it.
if [[ -n "${GALERA_PEERS:-}" ]]; then
	state="$(mariadb --defaults-extra-file=/run/mysqld/.my-healthcheck.cnf --batch --skip-column-names \
		--execute="SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS
			WHERE VARIABLE_NAME = 'WSREP_LOCAL_STATE_COMMENT'")"
	[[ "$state" == Synced || "$state" == Donor/Desynced ]]
else
	[[ "$(mariadb --defaults-extra-file=/var/lib/mysql/data/.my-healthcheck.cnf --batch --skip-column-names \
		--execute='SELECT 1')" == 1 ]]
fi
