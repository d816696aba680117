"""An attacker's moves against the stack's back end, from inside its containers:
the network links between containers, MariaDB's and Redis's accounts, and the
FTP account's powers over the files and its TLS key exchange.

Each test tries the move (with variants: the probe that found these will be run
again with others) and asserts the cause is gone, not only the one symptom.
"""

from __future__ import annotations

import ftplib
import io
import shlex
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from inception import compose

from .conftest import GROUP_NAMES, negotiated_group, redis_as, run_once, service_container, suite_has, wait_until
from .test_ftp import connect_tls

pytestmark = pytest.mark.attack

# --- Network: a container reaches exactly the services it uses -------------

# The architecture's links (DESIGN.md): nginx in front of each app, WordPress
# on MariaDB and Redis, Adminer on MariaDB, the todo app on its store; ftp on
# nothing. A link is a network both ends join, so it carries connections both
# ways (WordPress also calls nginx, under the site's name).
LINKS = {frozenset(pair) for pair in [
    ("nginx", "wordpress"), ("nginx", "adminer"), ("nginx", "static"), ("nginx", "todo"),
    ("wordpress", "mariadb"), ("wordpress", "redis"), ("adminer", "mariadb"), ("todo", "mongodb")]}
SERVICE_PORTS = {"nginx": 443, "wordpress": 9000, "adminer": 9000, "static": 8080, "todo": 8000,
                 "mariadb": 3306, "redis": 6379, "mongodb": 27017}
SOURCES = sorted([*SERVICE_PORTS, "ftp"])

# Connects to each "label host port" of argv[1] (JSON) at once, 2 s each.
PROBE = r"""
import json, socket, sys
from concurrent.futures import ThreadPoolExecutor
def probe(target):
    label, host, port = target
    try:
        socket.create_connection((host, port), timeout=2).close()
        return label, "open"
    except OSError:  # refused, unreachable, timed out, or the name does not resolve
        return label, "closed"
with ThreadPoolExecutor(32) as pool:
    print(json.dumps(dict(pool.map(probe, json.loads(sys.argv[1])))))
"""


def addresses(container) -> dict[str, str]:
    """The container's address on each of its networks."""
    return {name: net["IPAddress"] for name, net in container.attrs["NetworkSettings"]["Networks"].items()
            if net.get("IPAddress")}


@pytest.fixture(scope="module")
def reachability(stack_up, docker_api):
    """For each source container: which targets answered, by service name and
    by each of the target's addresses (an attacker scans addresses too).

    The probe runs in a throwaway container that shares the source's network
    namespace (`--network container:<source>`): the same interfaces, routes and
    DNS as the source, without adding processes to it (probes run inside
    daemons that never reap, such as redis-server as PID 1, left zombies
    behind until the container's PID limit refused every fork)."""
    import json

    containers = {service: service_container(docker_api, service) for service in SOURCES}
    targets = []
    for target, port in SERVICE_PORTS.items():
        targets.append((f"{target}:name", target, port))
        for network, address in addresses(containers[target]).items():
            targets.append((f"{target}:{network}", address, port))

    def probe_from(source):
        mine = [t for t in targets if not t[0].startswith(f"{source}:")]
        output = run_once(docker_api, f"todo:{compose.IMAGE_TAG}", ["-c", PROBE, json.dumps(mine)],
                          entrypoint="python3", network_mode=f"container:{containers[source].id}",
                          cap_drop=["ALL"], security_opt=["no-new-privileges=true"]).decode(errors="replace")
        try:
            found = json.loads(output.strip().splitlines()[-1])
        except (ValueError, IndexError):
            pytest.fail(f"the probe from {source}'s network did not run: {output[-500:]!r}", pytrace=False)
        return source, found

    with ThreadPoolExecutor(max_workers=len(SOURCES)) as pool:
        return {"results": dict(pool.map(probe_from, SOURCES)), "containers": containers}


@pytest.mark.parametrize("source", SOURCES)
def test_a_container_reaches_exactly_the_services_it_uses(reachability, source):
    containers = reachability["containers"]
    found = reachability["results"][source]
    source_networks = set(addresses(containers[source]))
    wrong = []
    for target, port in SERVICE_PORTS.items():
        if target == source:
            continue
        allowed = frozenset((source, target)) in LINKS
        if (found[f"{target}:name"] == "open") != allowed:
            wrong.append(f"{target}:{port} by name is {found[f'{target}:name']}, "
                         f"{'a link' if allowed else 'no link'} in the architecture")
        # By address: only the target's address on the link's network answers
        # (no route between networks, and no extra network joined).
        for network, address in addresses(containers[target]).items():
            shared = network in source_networks
            state = found[f"{target}:{network}"]
            if (state == "open") != (allowed and shared):
                wrong.append(f"{target}:{port} at {address} ({network}) is {state}; "
                             f"{'a link' if allowed else 'no link'} in the architecture, "
                             f"{'a network' if shared else 'no network'} {source} joins")
    assert not wrong, f"from {source}: " + "; ".join(wrong)


# --- MariaDB: root needs its password everywhere ----------------------------

DENIED_ROOT_LOGINS = {
    "mariadb -uroot": (["mariadb", "-uroot"], None),
    "mysql -uroot": (["mysql", "-uroot"], None),
    "socket protocol": (["mariadb", "--protocol=socket", "--user=root"], None),
    "-h localhost": (["mariadb", "-h", "localhost", "-uroot"], None),
    "-h 127.0.0.1": (["mariadb", "-h", "127.0.0.1", "-uroot"], None),
    "OS user mysql, no -u": (["mariadb"], "mysql"),
    "OS user mysql as root": (["mariadb", "-uroot"], "mysql"),
    "OS user mysql -umysql": (["mariadb", "-umysql"], "mysql"),
}


@pytest.mark.parametrize("name", sorted(DENIED_ROOT_LOGINS))
def test_mariadb_refuses_a_login_without_password(stack_up, docker_api, name):
    command, user = DENIED_ROOT_LOGINS[name]
    result = service_container(docker_api, "mariadb").exec_run(
        [*command, "--batch", "--execute=SELECT CURRENT_USER()"], user=user or "root")
    output = result.output.decode(errors="replace")
    assert result.exit_code != 0 and ("Access denied" in output or "is not allowed" in output), (
        f"`{' '.join(command)}` (as OS user {user or 'root'}) without a password got in: {output.strip()!r}")


def test_no_mariadb_account_logs_in_by_socket_identity(stack_up, docker_api):
    """The cause, not one login: no account may authenticate with unix_socket."""
    result = service_container(docker_api, "mariadb").exec_run(
        ["db-sql", "-N", "-B", "-e",
         "SELECT CONCAT(user, '@', host, ' ', priv) FROM mysql.global_priv WHERE priv LIKE '%unix_socket%'"
         " OR COALESCE(JSON_VALUE(priv, '$.authentication_string'), '') = ''"
         " AND COALESCE(JSON_VALUE(priv, '$.account_locked'), 'false') = 'false'"
         " AND COALESCE(JSON_VALUE(priv, '$.is_role'), 'false') = 'false'"])
    output = result.output.decode(errors="replace").strip()
    assert result.exit_code == 0, f"db-sql (root with its password) failed: {output}"
    assert output == "", f"accounts that log in without a password: {output}"


def test_mariadb_root_logs_in_with_its_password(stack_up, docker_api):
    result = service_container(docker_api, "mariadb").exec_run(
        ["db-sql", "-N", "-B", "-e", "SELECT CURRENT_USER()"])
    output = result.output.decode(errors="replace").strip()
    assert result.exit_code == 0 and output == "root@localhost", f"root with its password: {output!r}"


HEALTHCHECK_CLIENT = ["mariadb", "--defaults-extra-file=/var/lib/mysql/data/.my-healthcheck.cnf", "-N", "-B", "-e"]


def as_healthcheck(docker_api, sql: str):
    result = service_container(docker_api, "mariadb").exec_run([*HEALTHCHECK_CLIENT, sql], user="mysql")
    return result.exit_code, result.output.decode(errors="replace").strip()


def test_healthcheck_account_can_connect_and_nothing_more(stack_up, docker_api):
    code, output = as_healthcheck(docker_api, "SELECT CURRENT_USER()")
    assert code == 0 and output == "healthcheck@localhost", f"the healthcheck account cannot connect: {output!r}"
    code, output = as_healthcheck(docker_api, "SHOW GRANTS")
    grants = output.splitlines()
    assert len(grants) == 1 and grants[0].startswith("GRANT USAGE ON *.* TO `healthcheck`@`localhost`"), (
        f"the healthcheck account has more than USAGE: {output}")
    code, output = as_healthcheck(docker_api, "SELECT COUNT(*) FROM mysql.user")
    assert code != 0 and "denied" in output, f"the healthcheck account reads mysql.user: {output!r}"
    code, output = as_healthcheck(docker_api, "SHOW DATABASES")
    assert stack_up["MYSQL_DATABASE"] not in output.split() and "mysql" not in output.split(), (
        f"the healthcheck account sees databases: {output!r}")
    code, output = as_healthcheck(docker_api, f"SELECT COUNT(*) FROM `{stack_up['MYSQL_DATABASE']}`.wp_users")
    assert code != 0 and "denied" in output, f"the healthcheck account reads WordPress's users: {output!r}"


def test_compose_healthcheck_does_not_use_root(stack_up, docker_api):
    test = service_container(docker_api, "mariadb").attrs["Config"]["Healthcheck"]["Test"]
    assert "root" not in " ".join(test) and "unix_socket" not in " ".join(test), f"healthcheck: {test}"


def _wait_mariadb_ready(container, timeout=120):
    def ready():
        container.reload()
        if container.status != "running":
            logs = container.logs(tail=30).decode(errors="replace")
            pytest.fail(f"mariadb stopped during the migration test: {logs}", pytrace=False)
        return container.exec_run(["healthcheck.sh"]).exit_code == 0
    wait_until(ready, timeout, "the one-off mariadb to answer its healthcheck")


def test_store_made_with_socket_root_is_migrated(stack_up, docker_api):
    """A data folder initialised before this policy (root and the OS user's
    account by unix_socket) is secured at start; starting again with the
    migration half done (option file missing) redoes it."""
    image = f"mariadb:{compose.IMAGE_TAG}"
    volume = docker_api.volumes.create(f"{stack_up.project}-migration-{uuid.uuid4().hex[:6]}")
    root_password = stack_up.secrets_dir / "db_root_password"
    mounts = {volume.name: {"bind": "/var/lib/mysql", "mode": "rw"},
              str(root_password): {"bind": "/run/secrets/db_root_password", "mode": "ro"},
              str(stack_up.secrets_dir / "db_password"): {"bind": "/run/secrets/db_password", "mode": "ro"}}
    hardening = dict(cap_drop=["ALL"], cap_add=["CHOWN", "SETUID", "SETGID"],
                     security_opt=["no-new-privileges=true"], network_mode="none",
                     tmpfs={"/run/mysqld": "", "/tmp": ""})
    # The old way: mariadb-install-db's socket accounts (root and the OS user
    # mysql), root's password as an alternative, as the entrypoint used to do.
    old_init = (
        "set -e; chown mysql:mysql /var/lib/mysql /run/mysqld; "
        "setpriv --reuid=mysql --regid=mysql --init-groups install -d -m 0700 /var/lib/mysql/data; "
        "setpriv --reuid=mysql --regid=mysql --init-groups mariadb-install-db --datadir=/var/lib/mysql/data "
        "--skip-test-db --auth-root-authentication-method=socket >/dev/null; "
        # Bootstrap mode reads one statement a line.
        "printf \"FLUSH PRIVILEGES;\\nALTER USER root@localhost IDENTIFIED VIA unix_socket OR mysql_native_password "
        "USING PASSWORD('%s');\\nCREATE USER IF NOT EXISTS mysql@localhost IDENTIFIED VIA unix_socket;\\n"
        "GRANT ALL ON *.* TO mysql@localhost;\\n\" \"$(</run/secrets/db_root_password)\" | "
        "setpriv --reuid=mysql --regid=mysql --init-groups mariadbd --datadir=/var/lib/mysql/data --bootstrap "
        "--skip-networking >/dev/null 2>&1; echo initialised")
    container = None
    try:
        out = run_once(docker_api, image, ["-c", old_init + " 2>&1"], entrypoint="bash", volumes=mounts, **hardening)
        assert b"initialised" in out, f"could not build an old-style store: {out[-500:]!r}"
        for attempt in ("first start", "start with the migration half done"):
            container = docker_api.containers.run(
                image, detach=True, volumes=mounts, environment={"MYSQL_DATABASE": "wordpress",
                                                                 "MYSQL_USER": "wordpress"}, **hardening)
            _wait_mariadb_ready(container)
            for name, (command, user) in DENIED_ROOT_LOGINS.items():
                result = container.exec_run([*command, "--batch", "--execute=SELECT 1"], user=user or "root")
                assert result.exit_code != 0, f"{attempt}: `{name}` still logs in without a password"
            ok = container.exec_run(["db-sql", "-N", "-B", "-e", "SELECT CURRENT_USER()"])
            assert ok.output.decode().strip() == "root@localhost", f"{attempt}: root with its password: {ok.output!r}"
            # Interrupted after the SQL, before the option file: the next start redoes it.
            container.exec_run(["rm", "-f", "/var/lib/mysql/data/.my-healthcheck.cnf"], user="mysql")
            container.stop(timeout=60)
            container.remove(v=True)
            container = None
    finally:
        if container is not None:
            container.remove(force=True, v=True)
        volume.remove(force=True)


# --- Redis: each client its own user, with only what it needs ----------------

# DEBUG is also refused before the ACL is consulted (enable-debug-command no).
REFUSED = ("NOPERM", "ERR DEBUG command not allowed")
FORBIDDEN_FOR_WORDPRESS = {
    "CONFIG GET": ["CONFIG", "GET", "*"],
    "CONFIG SET": ["CONFIG", "SET", "maxmemory", "1mb"],
    "DEBUG": ["DEBUG", "SLEEP", "0"],
    "SHUTDOWN": ["SHUTDOWN", "ABORT"],
    "MODULE LIST": ["MODULE", "LIST"],
    "ACL LIST": ["ACL", "LIST"],
    "ACL WHOAMI is fine, ACL SETUSER is not": ["ACL", "SETUSER", "wordpress", "+@all"],
    "FLUSHALL": ["FLUSHALL"],
    "FLUSHDB": ["FLUSHDB"],
    "KEYS": ["KEYS", "*"],
    "MONITOR": ["MONITOR"],
    "CLIENT KILL": ["CLIENT", "KILL", "ID", "999999"],
    "CLIENT LIST": ["CLIENT", "LIST"],
    "REPLICAOF": ["REPLICAOF", "NO", "ONE"],
    "SAVE": ["SAVE"],
    "BGSAVE": ["BGSAVE"],
    "SCRIPT FLUSH": ["SCRIPT", "FLUSH"],
    "FUNCTION": ["FUNCTION", "LIST"],
    "INFO": ["INFO"],
    "SUBSCRIBE": ["SUBSCRIBE", "x"],
}


@pytest.mark.parametrize("name", sorted(FORBIDDEN_FOR_WORDPRESS))
def test_wordpress_redis_user_is_refused_admin_commands(stack_up, docker_api, name):
    output = redis_as(docker_api, "wordpress", *FORBIDDEN_FOR_WORDPRESS[name])
    assert output.startswith(REFUSED) or "NOPERM" in output, f"WordPress's Redis user ran {name}: {output[:300]!r}"


def test_wordpress_redis_user_scripts_are_held_to_its_rules(stack_up, docker_api):
    """EVAL is granted for the cache's atomic incr; the commands a script runs
    are checked against the same rules."""
    for call in ("redis.call('KEYS', '*')", "redis.call('FLUSHALL')", "redis.call('INFO')"):
        output = redis_as(docker_api, "wordpress", "EVAL", f"return {call}", "0")
        # The refusal's wording differs by version: trixie's Redis says "no
        # permissions to run", bookworm's 7.0 "can't run this command".
        refused = any(words in output for words in ("NOPERM", "no permissions to run", "can't run this command"))
        assert refused, f"a script ran {call}: {output[:300]!r}"


def test_wordpress_redis_user_does_what_the_cache_needs(stack_up, docker_api):
    key = f"attack-test:{uuid.uuid4().hex}"
    assert redis_as(docker_api, "wordpress", "SET", key, "5") == "OK"
    assert redis_as(docker_api, "wordpress", "GET", key) == "5"
    assert redis_as(docker_api, "wordpress", "EVAL", "return redis.call('GET', KEYS[1])", "1", key) == "5"
    assert redis_as(docker_api, "wordpress", "UNLINK", key) == "1"


@pytest.mark.parametrize("form", ["AUTH <password>", "AUTH default <password>", "no AUTH"])
def test_redis_default_user_cannot_log_in(stack_up, docker_api, form):
    container = service_container(docker_api, "redis")
    if form == "no AUTH":
        output = container.exec_run(["redis-cli", "-h", "127.0.0.1", "PING"]).output.decode().strip()
        assert "NOAUTH" in output, f"an unauthenticated PING got: {output!r}"
        return
    output = redis_as(docker_api, "default" if "default" in form else None, "PING")
    assert "PONG" not in output and ("WRONGPASS" in output or "AUTH failed" in output), (
        f"{form} with WordPress's password logged in as default: {output!r}")


@pytest.mark.parametrize("command", [["GET", "x"], ["INFO"], ["SET", "x", "1"], ["CONFIG", "GET", "*"]])
def test_redis_healthcheck_user_can_only_ping(stack_up, docker_api, command):
    assert redis_as(docker_api, "healthcheck", "PING", password_file="/run/redis-local/healthcheck") == "PONG"
    output = redis_as(docker_api, "healthcheck", *command, password_file="/run/redis-local/healthcheck")
    assert "NOPERM" in output, f"the healthcheck user ran {command}: {output[:200]!r}"


def test_redis_maintenance_user_reads_no_key(stack_up, docker_api):
    for command in (["GET", "x"], ["SCAN", "0"], ["KEYS", "*"], ["CONFIG", "GET", "*"], ["FLUSHALL"]):
        output = redis_as(docker_api, "maintenance", *command, password_file="/run/redis-local/maintenance")
        assert "NOPERM" in output, f"the maintenance user ran {command}: {output[:200]!r}"


# --- FTP: no mode changes, sane modes for uploads ---------------------------

def stat(docker_api, path: str) -> str:
    """Mode and group of a file in the WordPress files, read in the ftp container."""
    result = service_container(docker_api, "ftp").exec_run(["stat", "-c", "%a %G", f"/var/www/html/{path}"])
    assert result.exit_code == 0, f"stat {path}: {result.output.decode()}"
    return result.output.decode().strip()


@pytest.fixture
def ftp_session(stack_up, ca_file, secret):
    client = connect_tls(stack_up, ca_file)
    client.login(stack_up["FTP_USER"], secret("ftp_password"))
    client.prot_p()
    yield client
    client.close()


@pytest.mark.parametrize("command", [
    "SITE CHMOD 777 wp-config.php", "SITE chmod 0777 wp-config.php", "site CHMOD 666 wp-config.php",
    "SITE CHMOD 777 wp-content", "SITE CHMOD 777 {upload}", "SITE CHMOD 4755 {upload}"])
def test_ftp_account_cannot_change_modes(ftp_session, docker_api, command):
    upload = f"chmod-{uuid.uuid4().hex[:8]}.txt"
    ftp_session.storbinary(f"STOR {upload}", io.BytesIO(b"x"))
    command = command.format(upload=upload)
    path = command.split()[-1]
    before = stat(docker_api, path)
    try:
        with pytest.raises(ftplib.error_perm) as refused:
            ftp_session.sendcmd(command)
        assert str(refused.value)[:3] in ("500", "502", "550"), f"{command}: {refused.value}"
    finally:
        after = stat(docker_api, path)
        if after != before:  # put the old mode back, as the owner (www-data's uid)
            service_container(docker_api, "wordpress").exec_run(
                ["chmod", before.split()[0], f"/var/www/html/{path}"], user="www-data")
        ftp_session.delete(upload)
    assert after == before, f"{command} changed the mode: {before} -> {after}"


def test_ftp_uploads_get_web_modes_and_the_web_servers_group(ftp_session, docker_api):
    name = f"modes-{uuid.uuid4().hex[:8]}"
    ftp_session.mkd(name)
    try:
        ftp_session.storbinary(f"STOR {name}/file.txt", io.BytesIO(b"uploaded by FTP"))
        assert stat(docker_api, name) == "755 www-data", f"uploaded directory: {stat(docker_api, name)}"
        assert stat(docker_api, f"{name}/file.txt") == "644 www-data", (
            f"uploaded file: {stat(docker_api, f'{name}/file.txt')}")
        readable = service_container(docker_api, "wordpress").exec_run(
            ["cat", f"/var/www/html/{name}/file.txt"], user="www-data")
        assert readable.exit_code == 0 and readable.output == b"uploaded by FTP", (
            f"PHP-FPM's user cannot read it: exit {readable.exit_code}, {readable.output!r}")
    finally:
        ftp_session.delete(f"{name}/file.txt")
        ftp_session.rmd(name)


# --- FTPS key exchange: the configured groups, post-quantum hybrid first -----

def s_client(docker_api, stack_up, ca_file, *options: str) -> str:
    """openssl s_client (OpenSSL 3.5, from the nginx image: the host's 3.0 has
    no ML-KEM) on the FTPS port with explicit AUTH TLS, verifying the server."""
    script = (f"openssl s_client -starttls ftp -connect 127.0.0.1:{stack_up['FTP_PORT']} "
              f"-CAfile /ca.crt -verify_return_error -verify_hostname {shlex.quote(stack_up.domain)} "
              f"{' '.join(shlex.quote(o) for o in options)} </dev/null 2>&1")
    return run_once(docker_api, f"nginx:{compose.IMAGE_TAG}", ["-c", script], entrypoint="bash",
                    network_mode="host", volumes={ca_file: {"bind": "/ca.crt", "mode": "ro"}}).decode(errors="replace")


# ML-KEM hybrids exist in TLS 1.3 only: no TLS 1.2 case for them.
@pytest.mark.parametrize("group, version", [(group, version) for version in ("-tls1_3", "-tls1_2")
                                            for group in GROUP_NAMES
                                            if not (group == "X25519MLKEM768" and version == "-tls1_2")])
def test_ftps_offers_each_configured_group(stack_up, docker_api, ca_file, group, version):
    offered = group
    if version == "-tls1_2" and group != "P-256":
        # TLS 1.2 also uses the client's group list for the curve of an ECDSA
        # certificate (ours is P-256): a client must list P-256 too, after.
        offered = f"{group}:P-256"
    output = s_client(docker_api, stack_up, ca_file, version, "-groups", offered)
    if group == "X25519MLKEM768" and not suite_has(stack_up, "ml-kem"):
        # Bookworm's OpenSSL 3.0 (the client's here, and vsftpd's) has no ML-KEM.
        assert "SSL_CONF_cmd(-groups, X25519MLKEM768) failed" in output, (
            f"{stack_up['DEBIAN_SUITE']}'s OpenSSL was expected not to know {group}: {output[-600:]}")
        return
    handshake = ("Verification: OK" in output or "Verify return code: 0 (ok)" in output) and \
        "Cipher is (NONE)" not in output
    assert handshake, f"{group} over {version}: no verified handshake: {output[-600:]}"
    got = negotiated_group(output)
    assert got in GROUP_NAMES[group], f"{group} over {version}: negotiated {got!r}: {output[-600:]}"


def test_ftps_gives_a_current_client_the_post_quantum_hybrid(stack_up, docker_api, ca_file):
    """A client with its OpenSSL's own defaults (3.5: key shares for
    X25519MLKEM768 and X25519, as current browsers send) gets the hybrid;
    among the groups a client offers, the client's order decides, as on nginx.
    Without ML-KEM (bookworm: its absence is asserted above) it gets X25519."""
    expected = "X25519MLKEM768" if suite_has(stack_up, "ml-kem") else "X25519"
    output = s_client(docker_api, stack_up, ca_file)
    assert negotiated_group(output) == expected, (
        f"a client with OpenSSL's default groups got {negotiated_group(output)!r}: {output[-600:]}")
