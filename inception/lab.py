"""`invoke lab`: a local multi-node Docker Swarm made of Docker-in-Docker
nodes on this one machine, for trying `invoke deploy` and for CI's Debian 13
host generation (Docker 26, Compose v2, buildx).

Each node is a container named `<COMPOSE_PROJECT_NAME>-lab-<i>` running
Debian 13's own engine from the project's base image. The host's Docker CLI
reaches the first node (the swarm manager) through a unix socket under
`.lab/` (owner-only), never through a TCP port.
"""

from __future__ import annotations

import time
from pathlib import Path

from . import compose
from .settings import ROOT, Settings
from .errors import InceptionError

NODE_CONTEXT = ROOT / "srcs" / "lab" / "node"
LAB_DIR = ROOT / ".lab"
# The suite the nodes run: Debian 13's engine generation, whatever DEBIAN_SUITE
# the stack's images use.
NODE_SUITE = "trixie"
# Every capability but CAP_SYS_RESOURCE, which this kind of host's bounding
# set lacks (so --privileged cannot start here); with seccomp, AppArmor and
# the /proc and /sys masks lifted, that is what an engine inside needs.
# (BPF, PERFMON and CHECKPOINT_RESTORE are left out: Docker 20.10 does not
# know them, and a node's engine does not use them.)
CAPABILITIES = (
    "AUDIT_CONTROL", "AUDIT_READ", "AUDIT_WRITE", "BLOCK_SUSPEND", "CHOWN",
    "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "IPC_LOCK", "IPC_OWNER", "KILL", "LEASE",
    "LINUX_IMMUTABLE", "MAC_ADMIN", "MAC_OVERRIDE", "MKNOD", "NET_ADMIN", "NET_BIND_SERVICE",
    "NET_BROADCAST", "NET_RAW", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_ADMIN",
    "SYS_BOOT", "SYS_CHROOT", "SYS_MODULE", "SYS_NICE", "SYS_PACCT", "SYS_PTRACE", "SYS_RAWIO",
    "SYS_TIME", "SYS_TTY_CONFIG", "SYSLOG", "WAKE_ALARM",
)
SECURITY_OPTS = ("seccomp=unconfined", "apparmor=unconfined", "systempaths=unconfined")
# The folder every node has from the same shared storage, as each real
# machine has its NFS mount: one volume of this machine's, mounted into every
# node. `invoke deploy --files <this path>` puts WordPress's files there.
FILES_PATH = "/srv/inception-files"


class LabError(InceptionError):
    pass


def node_image() -> str:
    return f"inception-lab-node:{compose.IMAGE_TAG}"


def node_name(settings: Settings, index: int) -> str:
    return f"{settings.project}-lab-{index}"


def network_name(settings: Settings) -> str:
    return f"{settings.project}-lab"


def socket_dir(settings: Settings) -> Path:
    return LAB_DIR / settings.project


def docker_host(settings: Settings) -> str:
    return f"unix://{socket_dir(settings) / 'docker.sock'}"


def labels(settings: Settings) -> dict:
    return {"org.inception.lab": settings.project}


def files_volume(settings: Settings) -> str:
    return f"{settings.project}-lab-files"


def build_node_image(settings: Settings) -> None:
    built = compose.docker("build", "--quiet", "--build-arg", f"BASE_IMAGE=inception-base:{NODE_SUITE}",
                           "--tag", node_image(), str(NODE_CONTEXT))
    if built.returncode != 0:
        raise LabError(f"building the lab node image failed:\n{built.stderr.strip()[-1500:]}")


def node_exec(api, name: str, command: list[str], **kwargs) -> tuple[int, str]:
    result = api.containers.get(name).exec_run(command, **kwargs)
    return result.exit_code, result.output.decode(errors="replace")


def wait_engine(api, name: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        container = api.containers.get(name)
        if container.status != "running":
            raise LabError(f"lab node {name} stopped: {container.logs(tail=30).decode(errors='replace')}")
        code, _ = node_exec(api, name, ["docker", "version", "--format", "{{.Server.Version}}"])
        if code == 0:
            return
        time.sleep(1)
    raise LabError(f"the engine in {name} did not start within {timeout:.0f}s: "
                   f"{api.containers.get(name).logs(tail=30).decode(errors='replace')}")


def start_node(api, settings: Settings, index: int, build_ca: str | None) -> None:
    name = node_name(settings, index)
    volumes = {f"{name}-docker": {"bind": "/var/lib/docker", "mode": "rw"},
               files_volume(settings): {"bind": FILES_PATH, "mode": "rw"},
               str(ROOT): {"bind": "/src", "mode": "ro"}}
    if index == 1:
        volumes[str(socket_dir(settings))] = {"bind": "/run/lab", "mode": "rw"}
    if build_ca:
        volumes[build_ca] = {"bind": "/etc/inception/build-ca.pem", "mode": "ro"}
    # The docker CLI, not the SDK: `systempaths=unconfined` (no masked /proc
    # and /sys paths) exists only as a CLI option.
    cmd = ["run", "--detach", "--name", name, "--hostname", name, "--network", network_name(settings),
           "--restart", "unless-stopped", "--device-cgroup-rule", "a *:* rwm", "--tmpfs", "/run", "--tmpfs", "/tmp:exec"]
    cmd += [f"--label={key}={value}" for key, value in labels(settings).items()]
    cmd += [f"--cap-add={cap}" for cap in CAPABILITIES]
    cmd += [f"--security-opt={opt}" for opt in SECURITY_OPTS]
    for source, target in volumes.items():
        cmd += ["--volume", f"{source}:{target['bind']}:{target['mode']}"]
    started = compose.docker(*cmd, node_image())
    if started.returncode != 0:
        raise LabError(f"the engine refused to start lab node {name}: {started.stderr.strip()}")


def up(api, settings: Settings, nodes: int, say=print) -> str:
    """Start `nodes` nodes (those already running are kept) and form the swarm."""
    if nodes < 1:
        raise LabError("a lab needs at least one node (--nodes 1 or more)")
    say(f"building the lab node image {node_image()} (Debian 13's Docker engine)")
    build_node_image(settings)
    if not api.networks.list(names=[network_name(settings)]):
        api.networks.create(network_name(settings), driver="bridge", labels=labels(settings))
    socket_dir(settings).mkdir(parents=True, exist_ok=True, mode=0o700)
    # Exact name: the filter matches substrings.
    if files_volume(settings) not in {v.name for v in api.volumes.list(filters={"name": files_volume(settings)})}:
        api.volumes.create(files_volume(settings), labels=labels(settings))
    else:
        say(f"keeping the lab's shared files folder from before (volume {files_volume(settings)})")
    found = api.containers.list(all=True, filters={"label": "org.inception.lab"})
    for container in found:
        if container.name.startswith(f"{settings.project}-lab-") and \
                FILES_PATH not in {m["Destination"] for m in container.attrs["Mounts"]}:
            raise LabError(f"lab node {container.name} was made without the shared files folder {FILES_PATH} "
                           f"(an older version): remove the lab with `invoke lab down`, then `invoke lab up`")
    existing = {c.name for c in found}
    build_ca = settings["BUILD_CA_BUNDLE"] or None
    for index in range(1, nodes + 1):
        name = node_name(settings, index)
        if name not in existing:
            say(f"starting lab node {name}")
            start_node(api, settings, index, build_ca)
    for index in range(1, nodes + 1):
        wait_engine(api, node_name(settings, index))
    form_swarm(api, settings, nodes, say)
    prepare_for_deploy(api, settings, nodes)
    return docker_host(settings)


def node_address(api, settings: Settings, name: str) -> str:
    container = api.containers.get(name)
    return container.attrs["NetworkSettings"]["Networks"][network_name(settings)]["IPAddress"]


def form_swarm(api, settings: Settings, nodes: int, say=print) -> None:
    manager = node_name(settings, 1)
    code, state = node_exec(api, manager, ["docker", "info", "--format", "{{.Swarm.LocalNodeState}}"])
    if state.strip() != "active":
        say(f"initialising the swarm on {manager}")
        code, out = node_exec(api, manager, ["docker", "swarm", "init",
                                             "--advertise-addr", node_address(api, settings, manager)])
        if code != 0:
            raise LabError(f"docker swarm init failed on {manager}: {out.strip()}")
    _, token = node_exec(api, manager, ["docker", "swarm", "join-token", "--quiet", "worker"])
    for index in range(2, nodes + 1):
        name = node_name(settings, index)
        _, state = node_exec(api, name, ["docker", "info", "--format", "{{.Swarm.LocalNodeState}}"])
        if state.strip() == "active":
            continue
        say(f"joining {name} to the swarm")
        code, out = node_exec(api, name, ["docker", "swarm", "join", "--token", token.strip(),
                                          f"{node_address(api, settings, manager)}:2377"])
        if code != 0:
            raise LabError(f"{name} could not join the swarm: {out.strip()}")


# `invoke deploy` runs the registry on the manager (port 5000) and the stores
# on one labelled node; see inception/deploy.py.
REGISTRY_PORT = 5000
NODE_LABELS = {1: ("inception.registry=true", "inception.stores=true")}


def prepare_for_deploy(api, settings: Settings, nodes: int) -> None:
    """Label the nodes as `invoke deploy` expects and make every node's engine
    trust the project CA for the registry (what an operator does by hand on
    real machines: see the README's "Scaling out")."""
    from . import secrets

    manager = node_name(settings, 1)
    for index, node_labels in NODE_LABELS.items():
        if index > nodes:
            continue
        args = [item for label in node_labels for item in ("--label-add", label)]
        code, out = node_exec(api, manager, ["docker", "node", "update", *args, node_name(settings, index)])
        if code != 0:
            raise LabError(f"labelling {node_name(settings, index)} failed: {out.strip()}")
    secrets.ensure_secrets(settings.hostnames, settings.secrets_dir)
    ca = (settings.secrets_dir / "tls" / "ca.crt").read_text()
    certs_dir = f"/etc/docker/certs.d/{node_address(api, settings, manager)}:{REGISTRY_PORT}"
    for index in range(1, nodes + 1):
        # The CA certificate is public; the engine reads this folder on every pull.
        code, out = node_exec(api, node_name(settings, index), [
            "sh", "-c", 'install -d -m 0755 "$1" && printf "%s" "$2" > "$1/ca.crt"', "sh", certs_dir, ca])
        if code != 0:
            raise LabError(f"installing the registry's CA in {node_name(settings, index)} failed: {out.strip()}")


def down(api, settings: Settings, say=print) -> None:
    """Remove every node, its engine's volume and the lab network."""
    for container in api.containers.list(all=True, filters={"label": f"org.inception.lab={settings.project}"}):
        say(f"removing lab node {container.name}")
        container.remove(force=True, v=True)
        for volume in api.volumes.list(filters={"name": f"{container.name}-docker"}):
            volume.remove(force=True)
    # Exact name: the filter matches substrings.
    for volume in api.volumes.list(filters={"name": files_volume(settings)}):
        if volume.name == files_volume(settings):
            volume.remove(force=True)
    for network in api.networks.list(names=[network_name(settings)]):
        network.remove()
    (socket_dir(settings) / "docker.sock").unlink(missing_ok=True)
    if socket_dir(settings).exists():
        socket_dir(settings).rmdir()
