"""Least privilege, read from `docker inspect` and /proc of the running stack.

Every deviation from the policy must be listed in inception/privileges.py
(and explained in the README); anything else fails here.
"""

import pytest

from inception import compose
from tests import privileges

SERVICES = sorted(set(privileges.CAPABILITIES) - set(privileges.CONFIGURATION_ONLY))

@pytest.fixture(scope="module")
def containers(docker_api, stack_up):
    found = {c.labels["com.docker.compose.service"]: c
             for c in compose.project_containers(docker_api, stack_up, all_=False)}
    missing = set(SERVICES) - set(found)
    assert not missing, f"services not running: {missing}"
    return found

def proc_status(pid: int) -> dict:
    with open(f"/proc/{pid}/status") as status:
        return dict(line.rstrip("\n").split(":\t", 1) for line in status if ":\t" in line)

def daemon_pid(container) -> int:
    pid = container.attrs["State"]["Pid"]
    if container.attrs["HostConfig"].get("Init"):
        with open(f"/proc/{pid}/task/{pid}/children") as children:
            pid = int(children.read().split()[0])
    return pid

def user_name_in(container, uid: int) -> str:
    result = container.exec_run(["getent", "passwd", str(uid)])
    return result.output.decode().split(":")[0] if result.exit_code == 0 else str(uid)

@pytest.mark.parametrize("service", SERVICES)
def test_no_new_privileges_and_all_capabilities_dropped(containers, service):
    host = containers[service].attrs["HostConfig"]
    # Compose passes the option as written (`=`, the form Docker 26 no longer warns about).
    options = host.get("SecurityOpt") or []
    assert {"no-new-privileges=true", "no-new-privileges:true"} & set(options), (
        f"{service}: no-new-privileges not set: {options}")
    assert [c.upper() for c in host.get("CapDrop") or []] in (["ALL"], ["CAP_ALL"]), f"{service}: CapDrop {host.get('CapDrop')}"
    added = {c.upper().removeprefix("CAP_") for c in host.get("CapAdd") or []}
    assert added == privileges.CAPABILITIES[service], (
        f"{service} adds {sorted(added)}, documented {sorted(privileges.CAPABILITIES[service])}")

@pytest.mark.parametrize("service", SERVICES)
def test_daemon_runs_as_its_documented_user(containers, service):
    container = containers[service]
    status = proc_status(daemon_pid(container))
    uid = int(status["Uid"].split()[1])  # effective uid
    user = user_name_in(container, uid)
    assert user == privileges.DAEMON_USERS[service], f"{service} daemon runs as {user} (uid {uid})"
    if user != "root":
        assert int(status["CapEff"], 16) == 0, f"{service} daemon keeps capabilities: CapEff={status['CapEff']}"
    assert status["NoNewPrivs"].strip() == "1", f"{service} daemon may gain privileges"

@pytest.mark.parametrize("service", SERVICES)
def test_root_filesystem_is_read_only_unless_documented(containers, service):
    read_only = containers[service].attrs["HostConfig"]["ReadonlyRootfs"]
    assert read_only == (service not in privileges.WRITABLE_ROOT), (
        f"{service}: ReadonlyRootfs={read_only}, documented exceptions: {privileges.WRITABLE_ROOT}")

@pytest.mark.parametrize("service", SERVICES)
def test_memory_cpu_and_pid_limits_are_set(containers, service):
    host = containers[service].attrs["HostConfig"]
    assert host["Memory"] > 0, f"{service}: no memory limit"
    assert host["NanoCpus"] > 0 or host["CpuQuota"] > 0, f"{service}: no CPU limit"
    assert (host.get("PidsLimit") or 0) > 0, f"{service}: no PID limit"

def test_no_container_mounts_the_docker_socket(containers):
    for service, container in containers.items():
        for mount in container.attrs["Mounts"]:
            assert "docker.sock" not in mount["Source"], f"{service} mounts {mount['Source']}"

def test_published_ports_listen_on_the_configured_address(containers, stack_up):
    for service, container in containers.items():
        for bindings in (container.attrs["NetworkSettings"]["Ports"] or {}).values():
            for binding in bindings or []:
                assert binding["HostIp"] in (stack_up["BIND_ADDRESS"], ""), (
                    f"{service} publishes {binding} on another address than BIND_ADDRESS")
