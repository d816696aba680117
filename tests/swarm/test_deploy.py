"""`invoke deploy` on a 3-node lab: what runs where, HTTPS through every node."""

from __future__ import annotations

import socket
import ssl
import uuid

import pytest
from inception import deploy, lab, secrets
from tests.e2e.conftest import WordPress
from tests.loopback import names_to_loopback

pytestmark = pytest.mark.swarm


def tasks_by_node(api, stack, service):
    found = api.services.get(f"{stack}_{service}").tasks(filters={"desired-state": "running"})
    running = [t for t in found if t["Status"]["State"] == "running"]
    return [t["NodeID"] for t in running]


def test_every_service_runs_its_replicas(swarm, swarm_api):
    stack = swarm["settings"].project
    states = deploy.service_states(swarm_api, stack)
    assert set(states) == {"nginx", "wordpress", "todo", "static", "adminer", "mariadb", "redis", "mongodb", "ftp"}
    short = {name: f"{have}/{want}" for name, (have, want) in states.items() if have < want}
    assert not short, f"services short of tasks: {short}"


def test_replicas_spread_over_nodes(swarm, swarm_api):
    stack = swarm["settings"].project
    nodes = {node.id for node in swarm_api.nodes.list()}
    assert set(tasks_by_node(swarm_api, stack, "nginx")) == nodes, "nginx must run on every node"
    for service in ("wordpress", "todo"):
        placed = tasks_by_node(swarm_api, stack, service)
        assert len(placed) >= 2 and len(set(placed)) == len(placed), \
            f"{service}: {len(placed)} tasks on {len(set(placed))} nodes; want ≥2 on distinct nodes"


def test_every_service_uses_dns_round_robin(swarm, swarm_api):
    # No IPVS here (nor needed): a virtual IP would not answer.
    for service in swarm_api.services.list(filters={"label": f"com.docker.stack.namespace={swarm['settings'].project}"}):
        assert service.attrs["Spec"]["EndpointSpec"]["Mode"] == "dnsrr", service.name


def test_secrets_are_swarm_secrets_not_environment(swarm, swarm_api):
    stack = swarm["settings"].project
    spec = swarm_api.services.get(f"{stack}_mariadb").attrs["Spec"]["TaskTemplate"]["ContainerSpec"]
    names = {s["File"]["Name"]: s["File"]["Mode"] for s in spec["Secrets"]}
    assert names.get("db_root_password") == 0o400, names
    assert not any("PASSWORD" in e.split("=")[0] for e in spec.get("Env", [])), spec.get("Env")


def get_through(address, settings, host, path="/"):
    """An HTTPS GET of https://host/ sent to one node, verified against the CA."""
    port = int(settings["HTTPS_PORT"])
    context = ssl.create_default_context(cafile=str(settings.secrets_dir / "tls" / "ca.crt"))
    with socket.create_connection((address, port), timeout=15) as raw:
        with context.wrap_socket(raw, server_hostname=host) as tls:
            tls.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
            data = b""
            while chunk := tls.recv(65536):
                data += chunk
    status = int(data.split(b" ", 2)[1])
    return status, data


@pytest.mark.parametrize("node", [0, 1, 2])
def test_https_with_verified_tls_through_every_node(swarm, node):
    settings = swarm["settings"]
    address = swarm["addresses"][node]
    status, body = get_through(address, settings, settings.domain)
    assert status == 200 and settings["WP_TITLE"].encode() in body, f"WordPress through {address}: {status}"
    status, _ = get_through(address, settings, f"static.{settings.domain}")
    assert status == 200, f"static through {address}: {status}"
    status, body = get_through(address, settings, f"todo.{settings.domain}", "/api/auth/me")
    assert status == 401 and b"{" in body, f"todo API through {address}: {status}"


def test_a_wrong_name_fails_tls_verification(swarm):
    settings = swarm["settings"]
    with pytest.raises(ssl.SSLCertVerificationError):
        get_through(swarm["addresses"][0], settings, "not-the-site.example")


def test_uploads_are_shared_between_nodes(swarm, swarm_api):
    settings, stack = swarm["settings"], swarm["settings"].project
    volume = swarm_api.services.get(f"{stack}_wordpress").attrs["Spec"]["TaskTemplate"]["ContainerSpec"]["Mounts"]
    options = [m.get("VolumeOptions", {}).get("DriverConfig", {}).get("Options", {}) for m in volume]
    assert {"type": "none", "o": "bind", "device": lab.FILES_PATH} in options, \
        f"WordPress's files are not the lab's shared folder: {volume}"
    ca = str(settings.secrets_dir / "tls" / "ca.crt")
    original = b"GIF89a" + uuid.uuid4().bytes * 64
    name = f"shared-{uuid.uuid4().hex[:8]}.gif"
    with names_to_loopback(settings.hostnames, swarm["addresses"][0]):
        wordpress = WordPress(settings, ca)
        admin = wordpress.login(settings["WP_ADMIN_USER"],
                                secrets.read_secret("wp_admin_password", settings.secrets_dir))
        r = admin.post(wordpress.url("/wp-json/wp/v2/media"), timeout=60, data=original,
                       headers={"X-WP-Nonce": wordpress.rest_nonce(admin), "Content-Type": "image/gif",
                                "Content-Disposition": f'attachment; filename="{name}"'})
    assert r.status_code == 201, f"upload through node 1 -> {r.status_code}: {r.text[:300]}"
    path = "/" + r.json()["source_url"].split("/", 3)[3]
    # nginx serves uploads from its own node's mount of the files.
    for address in swarm["addresses"]:
        status, data = get_through(address, settings, settings.domain, path)
        assert status == 200 and data.endswith(original), \
            f"{path}, uploaded through node 1, read through {address}: {status}"


def test_deploy_to_a_non_manager_says_how_to_make_one():
    class Engine:
        def info(self):
            return {"Swarm": {"LocalNodeState": "inactive"}}

    with pytest.raises(deploy.DeployError, match="docker swarm init"):
        deploy.require_manager(Engine())
