"""TLS_MODE=acme end to end, offline: a throwaway instance of its own in acme
mode gets its certificate from Pebble (Let's Encrypt's ACME test CA, Debian's
`pebble`, in a test container) over TLS-ALPN-01 through nginx's TLS front on
443; nginx serves it for every host name; a renewal is installed while
clients keep requesting, and none of their requests fails.

Pebble's certificates live five years (Pebble 2.6 cannot shorten them), so
the instance renews with ACME_RENEW_DAYS above that, and the test asks the
acme service for its check at once with SIGHUP instead of waiting 12 hours.

Run alone (it builds and starts its own instance; about four minutes):
    INCEPTION_IMAGE_TAG=<tag> .venv/bin/python -m pytest tests/e2e/test_acme.py -m acme
"""

from __future__ import annotations

import datetime
import os
import shutil
import socket
import ssl
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

from inception import compose, instance, settings as config
from tests.loopback import names_to_loopback

pytestmark = pytest.mark.acme

PEBBLE_CONTEXT = Path(__file__).parent / "acme"
PEBBLE_CONFIG = """{"pebble": {
  "listenAddress": "0.0.0.0:14000", "managementListenAddress": "0.0.0.0:15000",
  "certificate": "/pebble/wfe.crt", "privateKey": "/pebble/wfe.key",
  "httpPort": 5002, "tlsPort": 443, "ocspResponderURL": "", "externalAccountBindingRequired": false}}
"""
# No random 0-15 s wait before each validation, no refused nonces (lego
# retries those, slowly), and a new validation for every order (a renewal
# goes through the TLS front again, not through a cached authorisation).
PEBBLE_ENV = {"PEBBLE_VA_NOSLEEP": "1", "PEBBLE_WFE_NONCEREJECT": "0", "PEBBLE_AUTHZREUSE": "0"}


def docker(*args: str, check: bool = True) -> str:
    result = compose.docker(*args)
    if check and result.returncode != 0:
        pytest.fail(f"docker {' '.join(args)} -> {result.returncode}: {result.stderr.strip()[-500:]}", pytrace=False)
    return result.stdout.strip()


def openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True)


def pebble_tls(folder: Path) -> Path:
    """A CA and a certificate for Pebble's own HTTPS API (name `pebble`); the
    acme service trusts that CA through ACME_CA_BUNDLE."""
    ca_key, ca_crt = folder / "ca.key", folder / "ca.crt"
    openssl("req", "-x509", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", str(ca_key), "-out", str(ca_crt), "-days", "2", "-subj", "/CN=Pebble API test CA",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign")
    openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", str(folder / "wfe.key"), "-out", str(folder / "wfe.csr"), "-subj", "/CN=pebble")
    (folder / "wfe.ext").write_text("subjectAltName=DNS:pebble,DNS:localhost\nextendedKeyUsage=serverAuth\n")
    openssl("x509", "-req", "-in", str(folder / "wfe.csr"), "-CA", str(ca_crt), "-CAkey", str(ca_key),
            "-set_serial", "1", "-days", "2", "-extfile", str(folder / "wfe.ext"), "-out", str(folder / "wfe.crt"))
    (folder / "pebble-config.json").write_text(PEBBLE_CONFIG)
    for path in folder.iterdir():
        path.chmod(0o644)  # Pebble runs as nobody
    return ca_crt


def wait_for(predicate, timeout: float, what: str, interval: float = 0.5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}", pytrace=False)


def served_certificate(settings, host: str, cafile: str) -> dict:
    """The certificate nginx serves for `host` on the published port, verified
    against `cafile` (raises ssl.SSLCertVerificationError otherwise)."""
    context = ssl.create_default_context(cafile=cafile)
    context.set_alpn_protocols(["h2", "http/1.1"])
    with socket.create_connection(("127.0.0.1", int(settings["HTTPS_PORT"])), timeout=10) as raw:
        with context.wrap_socket(raw, server_hostname=host) as tls:
            return tls.getpeercert()


@pytest.fixture(scope="module")
def acme_stack(tmp_path_factory):
    """An instance in acme mode, its ACME CA (Pebble) and Pebble's issuing root."""
    user = config.load(required=False)
    folder = tmp_path_factory.mktemp("pebble")
    folder.chmod(0o755)
    api_ca = pebble_tls(folder)
    pebble_image = f"inception-pebble:{compose.IMAGE_TAG}"
    built = compose.docker("build", "--quiet", "--tag", pebble_image, "--build-arg",
                           f"BASE_IMAGE={user.base_image}", str(PEBBLE_CONTEXT))
    if built.returncode != 0:
        pytest.fail(f"building {pebble_image} failed (run `invoke base` first?): {built.stderr[-800:]}",
                    pytrace=False)

    settings = instance.create(user, kind="acme")
    values = dict(settings.values)
    values.update({"TLS_MODE": "acme", "ACME_EMAIL": "acme-test@example.com",
                   "ACME_DIRECTORY": "https://pebble:14000/dir", "ACME_CA_BUNDLE": str(api_ca),
                   # Above Pebble's five years: every check renews.
                   "ACME_RENEW_DAYS": "36500"})
    settings.env_file.write_text(config.render_env(values))
    settings = config.load(settings.env_file)
    project = settings.project
    # Pebble reaches nginx under the site's names on a network of the test's
    # own (internal, so nginx's route out stays its own); the acme service
    # reaches Pebble on its route out, the `acme` network.
    test_network = f"{project}-pebble"
    pebble = f"{project}-pebble"
    env_args = [arg for key, value in PEBBLE_ENV.items() for arg in ("--env", f"{key}={value}")]
    up = None
    try:
        docker("network", "create", "--internal", test_network)
        docker("run", "--detach", "--name", pebble, "--network", test_network, "--network-alias", "pebble",
               "--volume", f"{folder}:/pebble:ro", *env_args, pebble_image, "-config", "/pebble/pebble-config.json")
        started = time.monotonic()
        env = {**os.environ, "INCEPTION_ENV_FILE": str(settings.env_file)}
        up = subprocess.Popen([sys.executable, "-m", "invoke", "up"], cwd=config.ROOT, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        # Compose makes the networks first, and nginx long before the acme
        # service starts (it waits for nginx to be healthy).
        wait_for(lambda: compose.docker("network", "inspect", f"{project}_acme").returncode == 0, 600,
                 f"the network {project}_acme")
        docker("network", "connect", "--alias", "pebble", f"{project}_acme", pebble)
        nginx = settings.container_name("nginx")
        wait_for(lambda: compose.docker("container", "inspect", nginx).returncode == 0, 600, f"{nginx}")
        docker("network", "connect", *[arg for host in settings.hostnames for arg in ("--alias", host)],
               test_network, nginx)
        output, _ = up.communicate(timeout=900)
        assert up.returncode == 0, f"`invoke up` of the acme instance failed:\n{output[-3000:]}"
        up_seconds = time.monotonic() - started
        root = folder / "pebble-root.pem"
        root.write_text(docker("exec", pebble, "curl", "--silent", "--fail", "--cacert", "/pebble/ca.crt",
                               "https://localhost:15000/roots/0"))
        with names_to_loopback(settings.hostnames):
            yield {"settings": settings, "root": str(root), "pebble": pebble, "up_seconds": up_seconds,
                   "folder": folder}
    finally:
        if up is not None and up.poll() is None:
            up.kill()
        compose.docker("rm", "--force", "--volumes", pebble)
        env = {**os.environ, "INCEPTION_ENV_FILE": str(settings.env_file)}
        cleaned = subprocess.run([sys.executable, "-m", "invoke", "clean", "--all", "--yes"], cwd=config.ROOT,
                                 env=env, capture_output=True, text=True, check=False)
        compose.docker("network", "rm", test_network)
        shutil.rmtree(settings.env_file.parent, ignore_errors=True)
        assert cleaned.returncode == 0, f"removing the acme instance failed: {cleaned.stdout}{cleaned.stderr}"


def acme_logs(acme_stack) -> str:
    settings = acme_stack["settings"]
    return "\n".join(docker("logs", "--tail", "40", settings.container_name(service), check=False)
                     + compose.docker("logs", "--tail", "40", settings.container_name(service)).stderr
                     for service in ("acme", "nginx"))


def test_first_certificate_is_issued_over_tls_alpn_and_served_for_every_host_name(acme_stack):
    settings, root = acme_stack["settings"], acme_stack["root"]
    acme = compose.client().containers.get(settings.container_name("acme"))
    started = datetime.datetime.fromisoformat(acme.attrs["State"]["StartedAt"][:26].rstrip("Z"))
    served = {}
    for host in settings.hostnames:
        try:
            served[host] = wait_for(lambda: _served_or_none(settings, host, root), 60,
                                    f"a certificate from Pebble for {host}")
        except BaseException:
            print(acme_logs(acme_stack))
            raise
    first_seen = datetime.datetime.utcnow()
    serials = {cert["serialNumber"] for cert in served.values()}
    assert len(serials) == 1, f"one certificate covers every name, got serials {serials}"
    names = {value for kind, value in served[settings.domain]["subjectAltName"] if kind == "DNS"}
    assert names == set(settings.hostnames), f"the certificate names {names}, expected {settings.hostnames}"
    print(f"\n  acme instance up (all healthy, first certificate issued) in {acme_stack['up_seconds']:.0f}s; "
          f"certificate served {(first_seen - started).total_seconds():.1f}s after the acme service started")


def _served_or_none(settings, host, root):
    try:
        return served_certificate(settings, host, root)
    except (ssl.SSLError, OSError):
        return None


@pytest.mark.parametrize("sub", ["", "adminer.", "static.", "todo."])
def test_sites_answer_through_the_tls_front_with_the_acme_certificate(acme_stack, sub):
    settings = acme_stack["settings"]
    host = f"{sub}{settings.domain}"
    with requests.Session() as session:
        session.trust_env = False
        r = session.get(settings.url(host=host, path="/"), verify=acme_stack["root"], timeout=30)
    # Adminer answers this machine (the client address survives the front).
    assert r.status_code == 200, f"GET https://{host}/ -> {r.status_code}: {r.text[:200]}"


def test_client_address_survives_the_tls_front(acme_stack):
    """The sites see the client's address (PROXY protocol), not the front's socket."""
    settings = acme_stack["settings"]
    marker = f"/acme-address-probe-{time.monotonic_ns()}"
    with requests.Session() as session:
        session.trust_env = False
        session.get(settings.url(path=marker), verify=acme_stack["root"], timeout=30)
    nginx = settings.container_name("nginx")
    line = wait_for(lambda: next((l for l in compose.docker("logs", "--since", "60s", nginx).stdout.splitlines()
                                  if marker in l), None), 20, f"{marker} in nginx's access log")
    address = line.split()[0]
    socket.inet_aton(address)  # an IPv4 address, not "unix:"
    assert not address.startswith("unix"), line


def test_renewal_is_installed_while_clients_keep_requesting_and_none_fails(acme_stack):
    settings, root = acme_stack["settings"], acme_stack["root"]
    before = served_certificate(settings, settings.domain, root)["serialNumber"]
    counts = {"new_connection": [0, 0], "keep_alive": [0, 0]}
    # Requests sent again on a new connection because nginx closed the idle
    # keep-alive connection they were sent on, before any byte of an answer
    # (an old worker closes its idle connections at a reload). Browsers and
    # curl send such a request again by themselves (RFC 9112, 9.3.1); requests
    # does not, so the client here does it as they do, and counts it.
    retried = [0]
    errors: list[str] = []
    stop = threading.Event()

    def client(kind: str) -> None:
        session = requests.Session()
        session.trust_env = False
        while not stop.is_set():
            try:
                url = settings.url(host=f"static.{settings.domain}", path="/")
                if kind == "new_connection":
                    # A TLS handshake per request: each meets the certificate in service.
                    r = session.get(url, verify=root, timeout=10, headers={"Connection": "close"})
                else:
                    try:
                        r = session.get(url, verify=root, timeout=10)
                    except requests.ConnectionError as exc:
                        if "RemoteDisconnected" not in repr(exc):
                            raise
                        retried[0] += 1
                        r = session.get(url, verify=root, timeout=10)
                ok = r.status_code == 200
                if not ok:
                    errors.append(f"{kind}: HTTP {r.status_code}")
            except requests.RequestException as exc:
                ok = False
                errors.append(f"{kind}: {exc}")
            counts[kind][0 if ok else 1] += 1

    threads = [threading.Thread(target=client, args=(kind,), daemon=True) for kind in counts for _ in range(2)]
    for thread in threads:
        thread.start()
    time.sleep(2)  # load first, then the renewal
    asked = time.monotonic()
    compose.client().containers.get(settings.container_name("acme")).kill(signal="SIGHUP")
    try:
        after = wait_for(lambda: (lambda s: s if s and s != before else None)(
            (_served_or_none(settings, settings.domain, root) or {}).get("serialNumber")), 120,
            "nginx to serve the renewed certificate")
    except BaseException:
        stop.set()
        print(acme_logs(acme_stack))
        raise
    renewed_in = time.monotonic() - asked
    time.sleep(5)  # and a while on the new certificate
    stop.set()
    for thread in threads:
        thread.join(timeout=15)
    made = sum(ok + failed for ok, failed in counts.values())
    failed = sum(failed for _, failed in counts.values())
    print(f"\n  renewal: serial {before} -> {after}, served {renewed_in:.1f}s after SIGHUP; "
          f"{made} requests during it ({counts}: [answered, failed]), {failed} failed, "
          f"{retried[0]} sent again after their idle keep-alive connection was closed")
    assert after != before
    assert made > 50, f"only {made} requests were made: the load did not run"
    assert failed == 0, f"{failed} of {made} requests failed during the renewal: {errors[:5]}"
    # Every host name has the new certificate.
    for host in settings.hostnames:
        assert served_certificate(settings, host, root)["serialNumber"] == after, host


def test_acme_service_keeps_the_least_privilege_policy(acme_stack):
    """The checks tests/e2e/test_privileges.py makes of every other service."""
    from tests import privileges
    from tests.e2e.test_privileges import daemon_pid, proc_status, user_name_in

    container = compose.client().containers.get(acme_stack["settings"].container_name("acme"))
    host = container.attrs["HostConfig"]
    assert {"no-new-privileges=true", "no-new-privileges:true"} & set(host.get("SecurityOpt") or [])
    assert [c.upper() for c in host.get("CapDrop") or []] in (["ALL"], ["CAP_ALL"]), host.get("CapDrop")
    added = {c.upper().removeprefix("CAP_") for c in host.get("CapAdd") or []}
    assert added == privileges.CAPABILITIES["acme"], f"acme adds {sorted(added)}"
    assert host["ReadonlyRootfs"] is True
    assert host["Memory"] > 0 and host["NanoCpus"] > 0 and (host.get("PidsLimit") or 0) > 0
    assert not (container.attrs["NetworkSettings"]["Ports"] or {}) or not any(
        container.attrs["NetworkSettings"]["Ports"].values()), "the acme service publishes a port"
    status = proc_status(daemon_pid(container))
    uid = int(status["Uid"].split()[1])
    assert user_name_in(container, uid) == privileges.DAEMON_USERS["acme"], f"acme-renewer runs as uid {uid}"
    assert int(status["CapEff"], 16) == 0 and status["NoNewPrivs"].strip() == "1", status


def test_nginx_cannot_read_the_acme_account_and_the_acme_service_cannot_reach_nginx_processes(acme_stack):
    """nginx reads the published certificate only; the acme service has no
    handle on nginx (its own process namespace, no docker socket)."""
    settings = acme_stack["settings"]
    nginx = compose.client().containers.get(settings.container_name("nginx"))
    listing = nginx.exec_run(["setpriv", "--reuid=www-data", "--regid=www-data", "--init-groups",
                              "ls", "/var/lib/acme/lego"])
    assert listing.exit_code != 0, f"nginx can list the ACME account folder: {listing.output[:200]}"
    readable = nginx.exec_run(["setpriv", "--reuid=www-data", "--regid=www-data", "--init-groups",
                               "head", "-c", "1", "/var/lib/acme/bundle.pem"])
    assert readable.exit_code == 0, f"nginx cannot read the published certificate: {readable.output[:200]}"
    acme = compose.client().containers.get(settings.container_name("acme"))
    assert acme.attrs["HostConfig"]["PidMode"] in ("", "private"), acme.attrs["HostConfig"]["PidMode"]
    processes = acme.exec_run(["sh", "-c", "ls /proc | grep -c '^[0-9]'"]).output.decode().strip()
    assert int(processes) < 10, f"the acme container sees {processes} processes"


def test_http3_answers_with_the_acme_certificate_where_the_suite_has_it(acme_stack):
    """QUIC (443/udp) does not pass the TLS front: nginx answers it directly,
    with the same certificate."""
    from tests.e2e.conftest import suite_has

    settings = acme_stack["settings"]
    nginx = compose.client().containers.get(settings.container_name("nginx"))
    result = nginx.exec_run(["curl", "--http3-only", "--silent", "--show-error", "--fail", "--max-time", "5",
                             "--cacert", "/run/nginx/served-chain.pem",
                             "--resolve", f"{settings.domain}:443:127.0.0.1", "-o", "/dev/null",
                             "-w", "%{http_version}", f"https://{settings.domain}/nginx-health"])
    output = result.output.decode(errors="replace")
    if suite_has(settings, "http3"):
        assert result.exit_code == 0 and output == "3", f"HTTP/3 in acme mode: exit {result.exit_code}: {output}"
    else:
        assert result.exit_code != 0, f"{settings['DEBIAN_SUITE']} has no HTTP/3, yet it answered: {output}"


def test_a_restarted_nginx_serves_the_acme_certificate_and_stays_healthy(acme_stack):
    """After a crash, a reboot or a recreation, nginx's entrypoint (root
    without DAC_OVERRIDE; the bundle is lego:www-data 0640) installs the
    published certificate itself, and its watcher keeps running."""
    settings, root = acme_stack["settings"], acme_stack["root"]
    nginx = compose.client().containers.get(settings.container_name("nginx"))
    nginx.restart(timeout=10)
    served = wait_for(lambda: _served_or_none(settings, settings.domain, root), 60,
                      "the restarted nginx to serve the ACME certificate")
    assert served, "no certificate from Pebble after a restart"
    logs = nginx.logs(since=int(time.time()) - 90).decode(errors="replace")
    assert "serving the certificate the acme service published" in logs, (
        f"the entrypoint did not install the published certificate at start:\n{logs[-1500:]}")

    def healthy():
        nginx.reload()
        return nginx.attrs["State"].get("Health", {}).get("Status") == "healthy"

    wait_for(healthy, 90, "nginx to be healthy again (its certificate watcher running)")
    time.sleep(5)
    nginx.reload()
    assert nginx.attrs["State"]["Status"] == "running" and healthy(), "nginx stopped or turned unhealthy after start"


def test_a_stop_during_a_renewal_lets_it_finish_and_publish(acme_stack):
    """`docker stop` (as in `invoke down`) while lego renews: lego is not
    killed halfway (it could leave a key beside another certificate); the
    renewal completes, is published and served, then the service stops."""
    settings, root = acme_stack["settings"], acme_stack["root"]
    acme = compose.client().containers.get(settings.container_name("acme"))
    before = served_certificate(settings, settings.domain, root)["serialNumber"]
    since = int(time.time())
    acme.kill(signal="SIGHUP")
    wait_for(lambda: "checking now" in acme.logs(since=since).decode(errors="replace"), 30,
             "the acme service to start its check")
    stopping = time.monotonic()
    acme.stop(timeout=120)
    stopped_in = time.monotonic() - stopping
    acme.reload()
    logs = acme.logs(since=since).decode(errors="replace")
    try:
        assert acme.attrs["State"]["ExitCode"] == 0, f"exit code {acme.attrs['State']['ExitCode']}:\n{logs[-1500:]}"
        assert "published the certificate" in logs.split("stopping")[0], (
            f"the renewal was not published before the stop ({stopped_in:.1f} s):\n{logs[-1500:]}")
        after = wait_for(lambda: (lambda s: s if s and s != before else None)(
            (_served_or_none(settings, settings.domain, root) or {}).get("serialNumber")), 60,
            "nginx to serve the certificate published before the stop")
        print(f"\n  stop during a renewal: stopped after {stopped_in:.1f} s, serial {before} -> {after}")
    finally:
        acme.start()
        wait_for(lambda: (acme.reload(), acme.attrs["State"].get("Health", {}).get("Status"))[1] == "healthy", 120,
                 "the acme service to be healthy again")


def test_back_to_local_mode_serves_the_local_ca_and_removes_the_acme_service(acme_stack):
    """The README's way back: TLS_MODE=local and `invoke up` (runs last: it
    changes the instance)."""
    settings = acme_stack["settings"]
    values = dict(settings.values, TLS_MODE="local")
    settings.env_file.write_text(config.render_env(values))
    result = subprocess.run([sys.executable, "-m", "invoke", "up"], cwd=config.ROOT, capture_output=True, text=True,
                            env={**os.environ, "INCEPTION_ENV_FILE": str(settings.env_file)}, timeout=600)
    assert result.returncode == 0, f"`invoke up` back in local mode failed:\n{result.stdout[-2000:]}{result.stderr}"
    assert "removed acme" in result.stdout, result.stdout[-1500:]
    local_ca = str(settings.secrets_dir / "tls" / "ca.crt")
    served = served_certificate(settings, settings.domain, local_ca)
    assert ("organizationName", "Inception") in served["issuer"][0] or any(
        ("organizationName", "Inception") in part for part in served["issuer"]), served["issuer"]
    running = [c.name for c in compose.project_containers(compose.client(), settings, all_=False)]
    assert settings.container_name("acme") not in running, running
