"""`invoke deploy`: the stack on the Docker Swarm that the engine (or
DOCKER_HOST) manages, with `docker stack deploy`.

Images reach the nodes through a registry that runs on the swarm itself
(srcs/requirements/registry, Debian's docker-registry), on the manager that
deploys, published in host mode on port 5000 with a certificate from the
project CA. The nodes' engines trust that CA through
/etc/docker/certs.d/<manager address>:5000/ca.crt (`invoke lab up` installs
it in its nodes; the README says how on real machines).

The stack file is docker-compose.yml with srcs/swarm.yml merged over it by
Compose (`config`), then translated here: what `docker stack deploy`
refuses (mem_limit, cpus, pids_limit) or ignores (restart, tmpfs,
security_opt, build, container_name, depends_on) becomes its Swarm
equivalent or is dropped, each case with its reason below.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import tempfile
import time
from pathlib import Path

import yaml

from . import compose, secrets
from .errors import InceptionError
from .settings import ROOT, Settings

SWARM_FILE = ROOT / "srcs" / "swarm.yml"
REQUIREMENTS = ROOT / "srcs" / "requirements"
REGISTRY_PORT = 5000
# Images that exist only on a swarm (not in docker-compose.yml).
SWARM_ONLY_IMAGES = ("registry",)
STORES_LABEL = "inception.stores"
REGISTRY_LABEL = "inception.registry"


class DeployError(InceptionError):
    pass


def registry_stack(settings: Settings) -> str:
    return f"{settings.project}-registry"


# ---------------------------------------------------------------- the swarm


def require_manager(api) -> dict:
    """The engine's swarm state; a DeployError saying how to get one otherwise."""
    info = api.info()
    swarm = info.get("Swarm") or {}
    state = swarm.get("LocalNodeState")
    if state != "active":
        raise DeployError(
            f"the Docker engine at {os.environ.get('DOCKER_HOST', 'the default socket')} is not part of a swarm "
            f"(state: {state or 'unknown'}). Make this machine a manager with `docker swarm init "
            f"--advertise-addr <this machine's address>`, join the others with the `docker swarm join` line it "
            f"prints, or point DOCKER_HOST at a manager (`invoke lab up` prints one for a local lab).")
    if not swarm.get("ControlAvailable"):
        raise DeployError(
            "this engine is a swarm worker; deploy from a manager (run `docker node ls` on one, or point "
            "DOCKER_HOST at it), or promote this node there with `docker node promote <name>`.")
    return swarm


def nodes(api) -> list[dict]:
    return [node.attrs for node in api.nodes.list()]


def labelled(api, label: str) -> list[dict]:
    return [node for node in nodes(api)
            if node["Spec"].get("Labels", {}).get(label) == "true" and node["Status"]["State"] == "ready"]


def ensure_labels(api, swarm: dict, say=print) -> tuple[dict, dict]:
    """The registry's node (this manager) and the stores' node. Labels set by
    the operator are kept; a missing one goes on this manager."""
    manager = api.nodes.get(swarm["NodeID"])
    for label in (REGISTRY_LABEL, STORES_LABEL):
        if not labelled(api, label):
            say(f"no ready node has the label {label}=true: putting it on this manager ({manager.attrs['Description']['Hostname']})")
            spec = dict(manager.attrs["Spec"])
            spec.setdefault("Labels", {})[label] = "true"
            manager.update(spec)
            manager.reload()
    registry = labelled(api, REGISTRY_LABEL)
    if registry[0]["ID"] != swarm["NodeID"]:
        # Images are loaded into this engine, which then pushes them: the
        # registry must run here.
        raise DeployError(f"the registry must run on the manager that deploys; move the label with "
                          f"`docker node update --label-rm {REGISTRY_LABEL} {registry[0]['Description']['Hostname']}` "
                          f"and deploy again")
    stores = labelled(api, STORES_LABEL)
    if len(stores) != 1:
        raise DeployError(f"exactly one node must carry {STORES_LABEL}=true (it keeps Redis, the document store "
                          f"and the FTP files); "
                          f"found {len(stores)}: fix it with `docker node update --label-rm/--label-add`")
    return registry[0], stores[0]


def node_address(node: dict) -> str:
    return node["Status"]["Addr"]


# ---------------------------------------------------------------- registry


def issue_registry_certificate(settings: Settings, address: str) -> tuple[Path, Path]:
    """A server certificate from the project CA for the registry's address
    (and localhost, for its own healthcheck); issued again when the address
    changes."""
    tls = settings.secrets_dir / "tls"
    crt, key = tls / "registry.crt", tls / "registry.key"
    if crt.exists() and key.exists():
        text = secrets._openssl("x509", "-in", str(crt), "-noout", "-ext", "subjectAltName").decode()
        if f"IP Address:{address}" in text:
            return crt, key
    for path in (crt, key):
        path.unlink(missing_ok=True)
    secrets._ec_key(key)
    csr = secrets._openssl("req", "-new", "-key", str(key), "-subj", f"/CN={address}")
    with tempfile.NamedTemporaryFile("w", suffix=".cnf") as ext:
        ext.write("basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n"
                  f"extendedKeyUsage=serverAuth\nsubjectAltName=IP:{address},DNS:localhost\n")
        ext.flush()
        pem = secrets._openssl("x509", "-req", "-CA", str(tls / "ca.crt"), "-CAkey", str(tls / "ca.key"),
                               "-set_serial", str(int.from_bytes(os.urandom(8), "big") >> 1),
                               "-days", str(secrets.SERVER_DAYS), "-sha256", "-extfile", ext.name, stdin=csr)
    secrets._write_private(crt, pem)
    return crt, key


def content_name(name: str, path: Path) -> str:
    """Swarm secrets cannot change: a new content gets a new name."""
    # Short: Swarm allows 64 characters, the stack's name included.
    return f"{name.split('.')[-1]}-{hashlib.sha256(path.read_bytes()).hexdigest()[:10]}"


def registry_stack_file(settings: Settings, crt: Path, key: Path) -> dict:
    tag = compose.IMAGE_TAG
    ca = settings.secrets_dir / "tls" / "ca.crt"
    return {
        "services": {"registry": {
            "image": f"registry:{tag}",
            "read_only": True,
            "cap_drop": ["ALL"],
            "cap_add": ["CHOWN", "SETUID", "SETGID"],
            "ports": [{"target": REGISTRY_PORT, "published": REGISTRY_PORT, "protocol": "tcp", "mode": "host"}],
            "volumes": ["registry:/var/lib/docker-registry", {"type": "tmpfs", "target": "/run"},
                        {"type": "tmpfs", "target": "/tmp"}],
            "secrets": [{"source": content_name(name, path), "target": name, "mode": 0o400}
                        for name, path in (("registry.crt", crt), ("registry.key", key), ("ca.crt", ca))],
            "healthcheck": {"test": ["CMD", "healthcheck.sh"], "interval": "5s", "timeout": "5s",
                            "retries": 3, "start_period": "30s"},
            "deploy": {"endpoint_mode": "dnsrr", "replicas": 1,
                       "placement": {"constraints": [f"node.labels.{REGISTRY_LABEL} == true"]},
                       "resources": {"limits": {"memory": "128M", "cpus": "0.5", "pids": 64}},
                       "restart_policy": {"condition": "any", "delay": "2s"},
                       "update_config": {"order": "stop-first", "failure_action": "rollback"}},
        }},
        "volumes": {"registry": {}},
        "secrets": {content_name(name, path): {"file": str(path)}
                    for name, path in (("registry.crt", crt), ("registry.key", key), ("ca.crt", ca))},
    }


# ---------------------------------------------------------------- images


def image_id(engine_env: dict, name: str) -> str | None:
    found = subprocess.run(["docker", "image", "inspect", "--format", "{{.Id}}", name], env=engine_env,
                           capture_output=True, text=True, check=False)
    return found.stdout.strip() if found.returncode == 0 else None


def engine_env(docker_host: str | None) -> dict:
    env = dict(os.environ)
    if docker_host:
        env["DOCKER_HOST"] = docker_host
    else:
        env.pop("DOCKER_HOST", None)
    return env


def transfer_images(names: list[str], source: dict, target: dict, say=print) -> None:
    """`docker save | docker load` the images the target lacks (one stream:
    shared layers travel once)."""
    missing = []
    for name in names:
        wanted = image_id(source, name)
        if wanted is None:
            raise DeployError(f"image {name} is not on the build engine; run `invoke build` (and build the "
                              f"registry image) there first")
        if image_id(target, name) != wanted:
            missing.append(name)
    if not missing:
        return
    say(f"copying {len(missing)} image(s) to the manager's engine: {', '.join(missing)}")
    save = subprocess.Popen(["docker", "save", *missing], env=source, stdout=subprocess.PIPE)
    load = subprocess.run(["docker", "load", "--quiet"], env=target, stdin=save.stdout, capture_output=True,
                          text=True, check=False)
    save.stdout.close()
    if save.wait() != 0 or load.returncode != 0:
        raise DeployError(f"copying images to the manager failed: {load.stderr.strip()[-800:]}")


def push_images(names: list[str], registry: str, target: dict, say=print) -> None:
    for name in names:
        remote = f"{registry}/{name}"
        subprocess.run(["docker", "tag", name, remote], env=target, check=True)
        pushed = subprocess.run(["docker", "push", "--quiet", remote], env=target, capture_output=True, text=True,
                                check=False)
        if pushed.returncode != 0:
            hint = ""
            if "x509" in pushed.stderr or "certificate" in pushed.stderr:
                hint = (f"\nThe manager's engine does not trust the registry's certificate: copy the project CA "
                        f"to /etc/docker/certs.d/{registry}/ca.crt on every node (`invoke lab up` does it in its "
                        f"nodes).")
            raise DeployError(f"pushing {remote} failed: {pushed.stderr.strip()[-600:]}{hint}")
    say(f"pushed {len(names)} image(s) to the swarm's registry {registry}")


def build_registry_image(settings: Settings, source: dict) -> None:
    name = f"registry:{compose.IMAGE_TAG}"
    found = subprocess.run(["docker", "image", "inspect", settings.base_image], env=source, capture_output=True,
                           check=False)
    if found.returncode != 0:
        raise DeployError(f"the build engine has no base image {settings.base_image} (nor, then, the stack's "
                          f"images): run `invoke build` (or `make`) against it first")
    built = subprocess.run(["docker", "build", "--quiet", "--build-arg", f"BASE_IMAGE={settings.base_image}",
                            "--tag", name, str(REQUIREMENTS / "registry")], env=source, capture_output=True,
                           text=True, check=False)
    if built.returncode != 0:
        raise DeployError(f"building {name} failed: {built.stderr.strip()[-1200:]}")


# ---------------------------------------------------------------- the stack file


def merged_config(settings: Settings, registry: str, stores_address: str) -> dict:
    """docker-compose.yml with swarm.yml over it, interpolated by Compose."""
    env = compose.compose_env(settings)
    env.update({"REGISTRY": registry, "STORES_ADDRESS": stores_address})
    cmd = compose.compose_command(settings, "--file", str(SWARM_FILE), "config")
    result = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise DeployError(f"merging the compose files failed: {result.stderr.strip()[-800:]}")
    return yaml.safe_load(result.stdout)


SIZE_RE = re.compile(r"^(\d+)([kmg]?)$", re.I)


def to_bytes(value) -> int:
    match = SIZE_RE.match(str(value).strip())
    if not match:
        raise DeployError(f"cannot read the size {value!r}")
    return int(match.group(1)) * {"": 1, "k": 2**10, "m": 2**20, "g": 2**30}[match.group(2).lower()]


def tmpfs_mount(spec: str) -> dict:
    """A compose `tmpfs:` entry as a Swarm tmpfs mount. Swarm mounts take
    size and mode only: an owner (uid=33 ...) cannot be given, so a folder
    meant for a non-root daemon gets mode 1777 (sticky, like /tmp; nothing
    else runs in the container)."""
    target, _, options = spec.partition(":")
    mount = {"type": "tmpfs", "target": target}
    tmpfs: dict = {}
    owned = False
    for option in filter(None, options.split(",")):
        key, _, value = option.partition("=")
        if key == "size":
            tmpfs["size"] = to_bytes(value)
        elif key == "mode":
            tmpfs["mode"] = int(value, 8)
        elif key in ("uid", "gid") and value != "0":
            owned = True
    if owned:
        # `docker stack deploy` drops a tmpfs mode (it passes the size only):
        # set_tmpfs_modes() puts it on the service afterwards.
        tmpfs["mode"] = 0o1777
    if tmpfs:
        mount["tmpfs"] = tmpfs
    return mount


def swarm_service(name: str, service: dict, notes: list[str]) -> dict:
    service = dict(service)
    # Images come from the registry; swarm names its tasks itself.
    for key in ("build", "container_name"):
        service.pop(key, None)
    # Swarm has no start order: every entrypoint and client retries, and
    # healthchecks keep traffic away from a task until it answers.
    service.pop("depends_on", None)
    # Swarm always restarts tasks (deploy.restart_policy, from swarm.yml).
    service.pop("restart", None)
    deploy = service.setdefault("deploy", {})
    limits = deploy.setdefault("resources", {}).setdefault("limits", {})
    if "mem_limit" in service:
        limits["memory"] = str(to_bytes(service.pop("mem_limit")))
    if "cpus" in service:
        limits["cpus"] = str(service.pop("cpus"))
    if "pids_limit" in service:
        limits["pids"] = int(service.pop("pids_limit"))
    if "tmpfs" in service:
        entries = service.pop("tmpfs")
        service["volumes"] = [*(service.get("volumes") or []), *(tmpfs_mount(e) for e in
                                                                 ([entries] if isinstance(entries, str) else entries))]
    # Docker 26's services have no no-new-privileges option: the nodes'
    # engines set it for every container (`dockerd --no-new-privileges`,
    # which the lab's nodes run with; see the README).
    if service.pop("security_opt", None):
        notes.append(f"{name}: security_opt (no-new-privileges) is applied by the node engines' --no-new-privileges")
    # Published ports: host mode on each node running the task (no routing
    # mesh); Swarm cannot bind one host address.
    ports = []
    for port in service.pop("ports", None) or []:
        if isinstance(port, str):
            port = parse_port(port)
        port = {key: value for key, value in port.items() if key != "host_ip"}
        port["mode"] = "host"
        port["published"] = int(port["published"]) if "-" not in str(port["published"]) else port["published"]
        ports.append(port)
    # HTTP/3 (QUIC) on the same port, for compose files that publish TCP only.
    if name == "nginx" and not any(p.get("protocol") == "udp" and int(p["target"]) == 443 for p in ports):
        ports += [{**p, "protocol": "udp"} for p in ports
                  if p.get("protocol", "tcp") == "tcp" and int(p["target"]) == 443]
    if ports:
        service["ports"] = expand_ranges(ports)
    # Compose file secrets keep the host's 0600; Swarm's default is 0444.
    service["secrets"] = [{**({"source": s} if isinstance(s, str) else s), "mode": 0o400}
                          for s in service.get("secrets") or []]
    if not service["secrets"]:
        service.pop("secrets")
    return service


def parse_port(text: str) -> dict:
    """Compose 1.29's short syntax: [host_ip:]published:target[/protocol]."""
    spec, _, protocol = text.partition("/")
    parts = spec.rsplit(":", 2)
    if len(parts) < 2:
        raise DeployError(f"a published port needs host:container, got {text!r}")
    return {"published": parts[-2], "target": parts[-1], "protocol": protocol or "tcp"}


def expand_ranges(ports: list[dict]) -> list[dict]:
    """Compose writes a range as one entry; Swarm wants one per port."""
    out = []
    for port in ports:
        published, target = str(port["published"]), str(port["target"])
        if "-" in published:
            low, high = (int(x) for x in published.split("-"))
            tlow = int(target.split("-")[0])
            out += [{**port, "published": low + i, "target": tlow + i} for i in range(high - low + 1)]
        else:
            out.append({**port, "published": int(published), "target": int(target)})
    return out


def stack_file(config: dict, settings: Settings, encrypted: bool, files_volume: dict | None) -> tuple[dict, list]:
    notes: list[str] = []
    # Services behind a compose profile (the ACME client) are not deployed.
    services = {name: swarm_service(name, spec, notes) for name, spec in config["services"].items()
                if not spec.get("profiles")}
    networks = {}
    for name, spec in (config.get("networks") or {}).items():
        spec = dict(spec or {})
        spec.pop("name", None)
        # The bridges' 64 KB MTU does not fit in VXLAN: the overlay driver
        # picks the underlay's MTU less its 50-byte header.
        spec["driver_opts"] = {"encrypted": ""} if encrypted else {}
        spec["driver"] = "overlay"
        networks[name] = spec
    volumes = {}
    for name in config.get("volumes") or {}:
        # DATA_DIR is on this machine, not on the nodes: the stores keep
        # node-local volumes on their labelled node.
        volumes[name] = {}
    if files_volume is not None:
        # Named after its options: an engine keeps a volume it already has
        # and ignores new options, so another store (address, folder) must be
        # another volume.
        digest = hashlib.sha256(json.dumps(files_volume, sort_keys=True).encode()).hexdigest()[:10]
        volumes["wordpress"] = {**files_volume, "name": f"{settings.project}_wordpress-{digest}"}
    elif "wordpress" in services:
        # Node-local files: nginx serves WordPress's static files from its
        # own node's volume, so a WordPress task (which puts them there) must
        # run beside every nginx. Uploads still stay on the node that took them.
        wp_deploy = services["wordpress"]["deploy"]
        wp_deploy.pop("replicas", None)
        wp_deploy.get("placement", {}).pop("max_replicas_per_node", None)
        wp_deploy["mode"] = "global"
        notes.append("wordpress: --files local: one task per node (mode global), uploads not shared")
    # Only the secrets the deployed services use (the ACME client's, behind
    # its profile, may have no file).
    used = {entry["source"] for service in services.values() for entry in service.get("secrets", [])}
    secrets_ = {name: {"file": spec["file"]} for name, spec in (config.get("secrets") or {}).items() if name in used}
    return {"services": services, "networks": networks, "volumes": volumes,
            "secrets": secrets_}, notes


def nfs_volume(address: str) -> dict:
    return {"driver": "local", "driver_opts": {"type": "nfs", "o": f"addr={address},nfsvers=4,hard,timeo=50",
                                               "device": ":/wordpress"}}


# Folders --files refuses, with everything under them and every folder above
# them (/var holds /var/lib/docker); and a folder must be at least two deep.
SYSTEM_FOLDERS = ("/bin", "/boot", "/dev", "/etc", "/home", "/lib", "/lib64", "/proc", "/root", "/run", "/sbin",
                  "/sys", "/usr", "/var/lib/docker", "/var/lib/containerd", "/var/log", "/var/cache", "/var/spool",
                  "/var/run", "/tmp")


def system_folder(path: str) -> bool:
    return path.count("/") < 2 or any(path == p or path.startswith(p + "/") or p.startswith(path + "/")
                                      for p in SYSTEM_FOLDERS)


def files_volume(files: str, nfs_address: str) -> dict | None:
    """The WordPress files volume for `--files`: `nfs` (every node's engine
    mounts the export), an absolute path (a folder every node has mounted from
    the same shared storage: the engine binds it), or `local` (None: a
    node-local volume per node, uploads not shared)."""
    if files == "local":
        return None
    if files == "nfs":
        if not nfs_address:
            raise DeployError("--files nfs (the default) needs INCEPTION_NFS_ADDRESS, the NFS server every node "
                              "mounts WordPress's files from; or pass --files <folder> (a folder every node has "
                              "mounted from shared storage) or --files local (uploads not shared)")
        return nfs_volume(nfs_address)
    if files.startswith("/") and not files.startswith("//") and os.path.normpath(files) == files:
        if system_folder(files):
            raise DeployError(f"--files {files}: a system or top-level folder; WordPress takes its ownership and "
                              f"nginx serves what it holds: give it a dedicated, empty folder on shared storage, "
                              f"such as /mnt/inception-files")
        return {"driver": "local", "driver_opts": {"type": "none", "o": "bind", "device": files}}
    raise DeployError(f"--files {files!r}: use `nfs`, `local` or the absolute path of a folder that every "
                      f"node has mounted from the same shared storage (e.g. /mnt/inception-files)")


# ---------------------------------------------------------------- deploy


def stack_deploy(name: str, document: dict, target: dict, prune: bool = True) -> None:
    with tempfile.NamedTemporaryFile("w", suffix=".yml", prefix="inception-stack-") as handle:
        yaml.safe_dump(document, handle, sort_keys=False)
        handle.flush()
        cmd = ["docker", "stack", "deploy", "--compose-file", handle.name, "--resolve-image", "always",
               "--detach=true"] + (["--prune"] if prune else []) + [name]
        result = subprocess.run(cmd, env=target, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise DeployError(f"`docker stack deploy {name}` failed: {result.stderr.strip()[-1500:]}")


def set_tmpfs_modes(api, stack: str, document: dict) -> list[str]:
    """Give the services the tmpfs modes that `docker stack deploy` dropped,
    through the engine's API; a service already right is left alone."""
    patched = []
    for name, spec in document["services"].items():
        modes = {v["target"]: v["tmpfs"]["mode"] for v in spec.get("volumes") or []
                 if isinstance(v, dict) and v.get("type") == "tmpfs" and "mode" in v.get("tmpfs", {})}
        if not modes:
            continue
        service = api.services.get(f"{stack}_{name}")
        body = service.attrs["Spec"]
        changed = False
        for mount in body["TaskTemplate"]["ContainerSpec"].get("Mounts", []):
            if mount.get("Type") == "tmpfs" and mount["Target"] in modes:
                options = mount.setdefault("TmpfsOptions", {})
                if options.get("Mode") != modes[mount["Target"]]:
                    options["Mode"] = modes[mount["Target"]]
                    changed = True
        if changed:
            low = api.api
            response = low._post_json(low._url("/services/{0}/update", service.id),
                                      data=body, params={"version": service.attrs["Version"]["Index"]})
            low._raise_for_status(response)
            patched.append(name)
    return patched


def service_states(api, stack: str) -> dict[str, tuple[int, int]]:
    """service -> (healthy running tasks, wanted tasks)."""
    out = {}
    for service in api.services.list(filters={"label": f"com.docker.stack.namespace={stack}"}):
        name = service.name[len(stack) + 1:]
        mode = service.attrs["Spec"]["Mode"]
        tasks = service.tasks(filters={"desired-state": "running"})
        running = [t for t in tasks if t["Status"]["State"] == "running"]
        healthy = 0
        for task in running:
            cid = task["Status"].get("ContainerStatus", {}).get("ContainerID")
            healthy += 1 if cid else 0
        wanted = mode["Replicated"]["Replicas"] if "Replicated" in mode else len(tasks)
        out[name] = (healthy, wanted)
    return out


def update_states(api, stack: str) -> dict[str, str]:
    states = {}
    for service in api.services.list(filters={"label": f"com.docker.stack.namespace={stack}"}):
        status = service.attrs.get("UpdateStatus") or {}
        states[service.name[len(stack) + 1:]] = status.get("State", "")
    return states


def wait_converged(api, stack: str, timeout: float, say=print) -> None:
    """Every service has all its tasks running (a task is 'running' only once
    started; health is then checked through the update's monitor and the
    callers' own requests) and no update in progress."""
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        states = service_states(api, stack)
        updates = update_states(api, stack)
        pending = {name: f"{have}/{want}" for name, (have, want) in states.items() if have < want}
        busy = {name: state for name, state in updates.items() if state in ("updating", "rollback_started")}
        rolled = {name for name, state in updates.items() if state in ("rollback_completed", "rollback_paused",
                                                                     "paused")}
        if rolled:
            raise DeployError(f"the update of {', '.join(sorted(rolled))} failed and was rolled back "
                              f"(`docker service ps {stack}_<service>` says more)" + task_errors(api, stack, rolled))
        if states and not pending and not busy:
            return
        summary = "; ".join(part for part in (", ".join(f"{k} {v}" for k, v in sorted(pending.items())),
                                              "updating: " + ", ".join(sorted(busy)) if busy else "") if part)
        if summary != last:
            say(f"waiting for {summary}")
            last = summary
        time.sleep(3)
    states = service_states(api, stack)
    raise DeployError(f"the stack {stack} did not converge within {timeout:.0f}s: " + json.dumps(states)
                      + task_errors(api, stack, [name for name, (have, want) in states.items() if have < want]))


def task_errors(api, stack: str, names) -> str:
    """The last error of each of these services' tasks (a node without the
    files folder says "no such file or directory" there)."""
    lines = []
    for name in sorted(names):
        tasks = api.services.get(f"{stack}_{name}").tasks()
        failed = sorted((t for t in tasks if t["Status"].get("Err")), key=lambda t: t["Status"].get("Timestamp", ""))
        if failed:
            lines.append(f"{name}: {failed[-1]['Status']['Err']}")
    return "".join(f"\n  {line}" for line in lines)


def wait_registry(settings: Settings, registry: str, timeout: float = 120) -> None:
    """The registry's API root answers over TLS verified against the project CA."""
    import ssl
    import urllib.error
    import urllib.request

    context = ssl.create_default_context(cafile=str(settings.secrets_dir / "tls" / "ca.crt"))
    deadline = time.monotonic() + timeout
    error = ""
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"https://{registry}/v2/", context=context, timeout=5) as answer:
                if answer.status == 200:
                    return
        except (OSError, urllib.error.URLError) as exc:
            error = str(exc)
        time.sleep(2)
    raise DeployError(f"the registry at {registry} did not answer within {timeout:.0f}s ({error}); "
                      f"`docker service ps {registry_stack(settings)}_registry` on the manager says why")


def deploy(api, settings: Settings, build_engine: str | None, files: str, encrypted: bool,
           timeout: float = 900, say=print) -> dict:
    if settings.acme:
        raise DeployError("`invoke deploy` serves the local CA's certificate only: TLS_MODE=acme runs on one "
                          "host (`invoke up`); set TLS_MODE=local to deploy to a swarm")
    # Checked before anything is started on the swarm.
    swarm = require_manager(api)
    volume = files_volume(files, os.environ.get("INCEPTION_NFS_ADDRESS", ""))
    registry_node, stores_node = ensure_labels(api, swarm, say=say)
    registry = f"{node_address(registry_node)}:{REGISTRY_PORT}"
    target = engine_env(os.environ.get("DOCKER_HOST"))
    source = engine_env(build_engine) if build_engine else target

    build_registry_image(settings, source)
    crt, key = issue_registry_certificate(settings, node_address(registry_node))
    transfer_images([f"registry:{compose.IMAGE_TAG}"], source, target, say=say)
    say(f"starting the registry on {registry_node['Description']['Hostname']} ({registry})")
    stack_deploy(registry_stack(settings), registry_stack_file(settings, crt, key), target)
    wait_converged(api, registry_stack(settings), 120, say=say)
    wait_registry(settings, registry)

    config = merged_config(settings, registry, node_address(stores_node))
    images = [f"{name}:{compose.IMAGE_TAG}" for name, spec in config["services"].items() if not spec.get("profiles")]
    transfer_images(images, source, target, say=say)
    push_images(images, registry, target, say=say)

    document, notes = stack_file(config, settings, encrypted, volume)
    say(f"deploying the stack {settings.project} ({len(document['services'])} services)")
    stack_deploy(settings.project, document, target)
    for name in set_tmpfs_modes(api, settings.project, document):
        notes.append(f"{name}: tmpfs modes set after `docker stack deploy` (it drops them)")
    started = time.monotonic()
    wait_converged(api, settings.project, timeout, say=say)
    return {"registry": registry, "stores": node_address(stores_node), "notes": notes,
            "converged_s": round(time.monotonic() - started, 1)}


def scale_service(name: str, replicas: int) -> None:
    """Change a service's replica count, and nothing else. (docker-py's
    Service.scale sends the whole spec back, altered: Swarm then also replaces
    every task, measured on Docker 26.)"""
    result = compose.docker("service", "scale", "--detach", f"{name}={replicas}")
    if result.returncode != 0:
        raise DeployError(f"`docker service scale {name}={replicas}` failed: {result.stderr.strip()[-500:]}")


def stop_galera_one_by_one(api, stack: str, say=print, timeout: float = 300) -> None:
    """Scale MariaDB down one node at a time. Stopped all at once (as `docker
    stack rm` does), no node may be safe to start the cluster again; one by
    one, the last to stop has every transaction and is marked so
    (safe_to_bootstrap), and the next deploy starts the cluster from it."""
    found = api.services.list(filters={"name": f"{stack}_mariadb"})
    service = next((s for s in found if s.name == f"{stack}_mariadb"), None)
    if service is None:
        return
    replicas = service.attrs["Spec"]["Mode"].get("Replicated", {}).get("Replicas", 1)
    for count in range(replicas - 1, 0, -1):
        say(f"stopping a Galera node ({count} left), so that the last to stop starts the cluster next time")
        scale_service(service.name, count)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            # A down node's tasks report `running` until Swarm gives up on
            # them: only nodes that answer count.
            ready = {node.id for node in api.nodes.list() if node.attrs["Status"]["State"] == "ready"}
            running = [t for t in service.tasks() if t.get("NodeID") in ready
                       and t["Status"]["State"] in ("running", "starting", "preparing", "assigned")]
            if len(running) <= count:
                say(f"  {count} Galera node{'s' * (count > 1)} left after "
                    f"{time.monotonic() - deadline + timeout:.0f}s")
                break
            time.sleep(2)
        else:
            raise DeployError(f"a Galera node did not stop within {timeout:.0f}s: MariaDB is now scaled to "
                              f"{count} (the next `invoke deploy` puts back {replicas}) and the stacks are not "
                              f"removed; `docker service ps {stack}_mariadb` says why")


def remove(api, settings: Settings, say=print) -> None:
    target = engine_env(os.environ.get("DOCKER_HOST"))
    require_manager(api)
    stop_galera_one_by_one(api, settings.project, say=say)
    for stack in (settings.project, registry_stack(settings)):
        subprocess.run(["docker", "stack", "rm", stack], env=target, capture_output=True, check=False)
        # `docker stack rm` returns before the engine has removed the stack's
        # networks: a deploy right after would find them half gone.
        label = {"label": f"com.docker.stack.namespace={stack}"}
        deadline = time.monotonic() + 120
        while api.services.list(filters=label) or api.networks.list(filters=label):
            if time.monotonic() > deadline:
                raise DeployError(f"the stack {stack} was still being removed after 120 s "
                                  f"(`docker stack ps {stack}` says what remains)")
            time.sleep(1)
        say(f"removed the stack {stack}")
