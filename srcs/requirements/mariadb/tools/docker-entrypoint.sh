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

# $1: the healthcheck account's password (a new random one by default).
init_database() {
	local root_password user_password healthcheck_password
	root_password="$(read_secret db_root_password)"
	user_password="$(read_secret db_password)"
	healthcheck_password="${1:-$(new_password)}"

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

# --- Galera (a Swarm: GALERA_PEERS names every node of the cluster) --------

readonly GRASTATE="$DATADIR/grastate.dat"

# Swarm's DNS lists a task under GALERA_PEERS only once it is healthy: the
# nodes in step with the cluster. A starting node finds its own address by
# GALERA_SUBNET, the cluster network's (fixed in srcs/swarm.yml).
peer_addresses() {
	getent ahostsv4 "$GALERA_PEERS" | awk '{ print $1 }' | sort -u
}

ip_number() {
	local a b c d
	IFS=. read -r a b c d <<<"$1"
	echo $(((a << 24) | (b << 16) | (c << 8) | d))
}

own_address() {
	local net="${GALERA_SUBNET%/*}" bits="${GALERA_SUBNET#*/}" mask address
	mask=$(((0xffffffff << (32 - bits)) & 0xffffffff))
	for address in $(ip -o -4 addr show | awk '{ split($4, a, "/"); print a[1] }'); do
		if (((($(ip_number "$address") & mask)) == (($(ip_number "$net") & mask)))); then
			echo "$address"
			return
		fi
	done
}

# Every other address of the cluster network (a /24): the peers to try when
# DNS lists none (no node is healthy: every node crashed, or the cluster is
# new). Galera connects to those that answer, and they to it.
subnet_addresses() {
	local prefix="${GALERA_SUBNET%.*}" own="$1" host
	for host in $(seq 2 254); do
		[[ "$prefix.$host" == "$own" ]] || echo "$prefix.$host"
	done
}

# Whether something accepts a TCP connection at address $1, port $2.
port_open() {
	timeout 2 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null
}

# The addresses where a Galera node listens (port 4567), whatever its state:
# joining, donor, or waiting for the others. Probed 32 at a time, two
# processes each: the container's pids_limit is 128 (all 253 at once failed
# to fork).
galera_listeners() {
	local address count=0
	for address in $(subnet_addresses "$1"); do
		timeout 2 bash -c 'exec 3<>"/dev/tcp/$1/4567" && echo "$1"' probe "$address" 2>/dev/null &
		if ((++count % 32 == 0)); then
			wait
		fi
	done
	wait
}

# A peer whose MariaDB port answers runs in a primary component (a joining
# node opens it only once it has its data).
cluster_running() {
	local peer
	for peer in "$@"; do
		port_open "$peer" 3306 && return 0
	done
	return 1
}

# The healthcheck account's password on a cluster: every node must know it,
# and a joining node has only the secrets. Derived from root's password (one
# way, and the account can do nothing but connect).
galera_healthcheck_password() {
	local root
	root="$(read_secret db_root_password)"
	printf 'inception healthcheck\n%s' "$root" | sha256sum | cut -c1-40
}

# Adds Galera's options to the mariadbd command line (GALERA_ARGS). The order
# of the checks:
#  1. a peer is in step (healthy: Swarm's DNS lists it) and its MariaDB port
#     answers: join the running cluster (the write sets this node missed by
#     IST, or its whole data folder by rsync when it is new);
#  2. this node was the last to stop cleanly (safe_to_bootstrap: 1): it has
#     every committed transaction, so it starts the cluster; the others join;
#  3. no data: a new node waits, without listening, until a node is in step
#     (then 1). Except the first node of a new cluster (task slot 1), which
#     starts the cluster, and only when no Galera node listens anywhere on the
#     cluster network: a slot 1 whose volume was lost while the others run
#     (joining, donor, or not yet in DNS) joins them instead of starting a
#     second, empty cluster;
#  4. data but not safe to start the cluster: join whatever listens. After
#     every node crashed, Galera forms the cluster again by itself once all
#     the nodes of the last primary component see each other (pc.recovery).
galera_plan() {
	require_env GALERA_PEERS GALERA_SUBNET
	[[ "$GALERA_SUBNET" =~ ^([0-9]{1,3}\.){3}0/24$ ]] || die "GALERA_SUBNET must be a /24 such as 10.0.250.0/24, not $GALERA_SUBNET"
	local own peers=() cluster healthcheck_password tries planned=""
	own="$(own_address)"
	[[ -n "$own" ]] || die "no address of this container is in GALERA_SUBNET=$GALERA_SUBNET"
	healthcheck_password="$(galera_healthcheck_password)"
	GALERA_ARGS=(--defaults-extra-file=/etc/mysql/galera.cnf
		"--wsrep-node-name=$HOSTNAME" "--wsrep-node-address=$own"
		"--wsrep-sst-receive-address=$own:4444"
		"--wsrep-provider-options=gmcast.listen_addr=tcp://$own:4567;ist.recv_addr=$own:4568;pc.wait_prim_timeout=PT90S")
	for tries in $(seq 60); do
		mapfile -t peers < <(peer_addresses | grep -vxF "$own")
		if ((${#peers[@]})) && cluster_running "${peers[@]}"; then
			note "galera: joining the running cluster (${peers[*]})"
			planned=1
			break
		elif as_user mysql grep -qs '^safe_to_bootstrap: *1' "$GRASTATE"; then
			note "galera: this node stopped last and has every transaction: starting the cluster"
			GALERA_ARGS+=(--wsrep-new-cluster)
			planned=1
			break
		elif as_user mysql test -d "$DATADIR/mysql"; then
			mapfile -t peers < <(galera_listeners "$own" | sort)
			((${#peers[@]})) || mapfile -t peers < <(subnet_addresses "$own")
			note "galera: no node is in step: waiting for the others on $GALERA_SUBNET"
			planned=1
			break
		elif [[ "${GALERA_NODE:-}" == 1 ]]; then
			mapfile -t peers < <(galera_listeners "$own" | sort)
			if ((${#peers[@]})); then
				note "galera: no data here, but Galera nodes listen (${peers[*]}): joining them"
			else
				init_database "$healthcheck_password"
				note "galera: first start of the first node: starting a new cluster"
				GALERA_ARGS+=(--wsrep-new-cluster)
			fi
			planned=1
			break
		fi
		((tries % 6 == 1)) && note "galera: no data here and no node in step yet: waiting"
		sleep 5
	done
	[[ -n "$planned" ]] || die "galera: no node came in step in 5 minutes; trying again"
	cluster="gcomm://$(IFS=,; echo "${peers[*]}")"
	GALERA_ARGS+=("--wsrep-cluster-address=$cluster")
	# A state transfer copies the databases, not the healthcheck's option
	# file: each node writes its own, in /run/mysqld (see healthcheck.sh).
	write_healthcheck_cnf /run/mysqld "$healthcheck_password"
	# A new node receives its whole data folder from a donor.
	as_user mysql install -d -m 0700 "$DATADIR"
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
		if [[ -n "${GALERA_PEERS:-}" ]]; then
			galera_plan
			shift
			# --defaults-extra-file must come first.
			exec_as mysql mariadbd "${GALERA_ARGS[@]:0:1}" "$@" "${GALERA_ARGS[@]:1}"
		fi
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
