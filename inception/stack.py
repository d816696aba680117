"""Operations on the running stack that tasks.py and the tests share."""

from __future__ import annotations

import errno
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

from . import compose, composefile
from .errors import InceptionError
from .settings import Settings



class StackError(InceptionError):
    pass


def run_compose(settings: Settings, *args: str, check: bool = True, capture: bool = False) -> subprocess.CompletedProcess:
    cmd = compose.compose_command(settings, *args)
    result = subprocess.run(cmd, env=compose.compose_env(settings), text=True,
                            capture_output=capture, check=False)
    if check and result.returncode != 0:
        detail = f": {result.stderr.strip()[-800:]}" if capture and result.stderr else " (see the output above)"
        raise StackError(f"`{' '.join(compose.compose_program())} {' '.join(args)}` failed{detail}")
    return result


def services(settings: Settings) -> list[str]:
    """The services this configuration runs: those of the active profiles
    (Compose 1.29's `config --services` lists every profile's services)."""
    out = run_compose(settings, "config", "--services", capture=True).stdout
    active, profiles = set(compose.profiles(settings)), composefile.service_profiles()

    def enabled(name: str) -> bool:
        wanted = profiles.get(name, set())
        return not wanted or bool(wanted & active)

    return [name for name in (line.strip() for line in out.splitlines()) if name and enabled(name)]


def remove_disabled_services(api, settings: Settings) -> list[str]:
    """Stop and remove the containers of services whose profile is now off
    (the acme client after a switch back to TLS_MODE=local): neither Compose
    counts them as orphans. Returns their service names."""
    wanted = set(services(settings))
    profiled = {name for name, wanted in composefile.service_profiles().items() if wanted}
    removed = []
    for container in compose.project_containers(api, settings):
        name = container.labels.get("com.docker.compose.service")
        if name in profiled and name not in wanted:
            container.stop(timeout=10)
            container.remove(v=True)
            removed.append(name)
    return removed


def networks_to_recreate(api, settings: Settings) -> list[str]:
    """Project networks whose driver options differ from the compose file's.

    Compose refuses to start while such a network exists ("needs to be
    recreated"); networks hold no data, so `up` recreates them.
    """
    import yaml

    wanted = yaml.safe_load(run_compose(settings, "config", capture=True).stdout).get("networks") or {}
    existing = {network.name: network for network in api.networks.list(
        filters={"label": f"com.docker.compose.project={settings.project}"})}
    stale = []
    for name, spec in wanted.items():
        network = existing.get(f"{settings.project}_{name}")
        # Only the options the compose file sets: engines add options of their own.
        options = (spec or {}).get("driver_opts") or {}
        if network and any((network.attrs.get("Options") or {}).get(key) != str(value)
                           for key, value in options.items()):
            stale.append(network.name)
    return stale


def remove_orphan_networks(api, settings: Settings) -> list[str]:
    """Remove this project's networks that the compose file no longer defines
    (an upgrade split `backend` into one network per link), once unused."""
    wanted = set(composefile.spec().get("networks") or {})
    removed = []
    for network in api.networks.list(filters={"label": f"com.docker.compose.project={settings.project}"}):
        network.reload()
        if network.attrs["Labels"].get("com.docker.compose.network") not in wanted and not network.attrs["Containers"]:
            network.remove()
            removed.append(network.name)
    return removed


def check_ports_free(api, settings: Settings) -> None:
    """Fail before starting when another program holds one of our ports (TCP,
    or UDP for HTTP/3)."""
    ours = set()
    for container in compose.project_containers(api, settings, all_=False):
        for inner, bindings in (container.attrs["NetworkSettings"]["Ports"] or {}).items():
            ours.update((int(b["HostPort"]), inner.partition("/")[2] or "tcp") for b in bindings or [])
    address = settings["BIND_ADDRESS"]
    for service, port, protocol in composefile.published_sockets(settings):
        if (port, protocol) in ours:
            continue
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        kind = socket.SOCK_DGRAM if protocol == "udp" else socket.SOCK_STREAM
        with socket.socket(family, kind) as probe:
            # TCP only: lets a port whose last connections linger in TIME_WAIT
            # count as free (for UDP it would let a bound port look free).
            if kind == socket.SOCK_STREAM:
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((address, port))
            except PermissionError:
                continue  # a privileged port: Docker binds it, not us; it reports conflicts itself
            except OSError as exc:
                if exc.errno == errno.EADDRINUSE:
                    flag = "-lunp" if protocol == "udp" else "-ltnp"
                    raise StackError(
                        f"port {port}/{protocol} ({service}) on {address} is already in use by another program. "
                        f"Stop that program (`sudo ss {flag} 'sport = :{port}'` shows it) "
                        f"or choose another port in .env."
                    ) from None
                raise


# Apps nginx keeps connections open to: their addresses are resolved when nginx
# loads its configuration (srcs/requirements/nginx/conf/snippets/upstream-fallback.conf).
KEPT_ALIVE_UPSTREAMS = ("static", "todo")


def refresh_proxy(api, settings: Settings) -> bool:
    """Reload nginx when an app it keeps connections to was (re)created after
    nginx loaded its configuration: a new container may have a new address.
    A reload is graceful (no request is dropped). True when it reloaded."""
    def started(service):
        # RFC 3339 with up to 9 fractional digits, trailing zeros dropped: not
        # comparable as text.
        stamp = api.containers.get(settings.container_name(service)).attrs["State"]["StartedAt"]
        seconds, _, fraction = stamp.rstrip("Z").partition(".")
        return seconds, int(fraction.ljust(9, "0")[:9] or 0)

    nginx_started = started("nginx")
    if not any(started(app) > nginx_started for app in KEPT_ALIVE_UPSTREAMS):
        return False
    # The entrypoint's reload renders the sites again first (an app that was
    # down when nginx started was left out of its kept-alive upstream).
    result = compose.exec_in(settings, "nginx", ["docker-entrypoint.sh", "reload"], timeout=30)
    if result.returncode != 0:
        raise StackError("nginx did not reload after its apps were recreated: "
                         f"{result.stderr.decode(errors='replace').strip()[-300:]}; "
                         f"run `docker restart {settings.container_name('nginx')}`")
    return True


def describe_ports(container) -> str:
    """Published ports, consecutive ones as a range: 0.0.0.0:21100-21110->21100-21110/tcp."""
    pairs = sorted(
        (binding["HostIp"] or "*", int(binding["HostPort"]), int(inner.split("/")[0]), inner.split("/")[1])
        for inner, bindings in (container.attrs["NetworkSettings"]["Ports"] or {}).items()
        for binding in bindings or []
    )
    runs = []
    for ip, host, inner, proto in pairs:
        last = runs[-1] if runs else None
        if last and last[0] == ip and last[2] + 1 == host and last[4] + 1 == inner and last[5] == proto:
            last[2], last[4] = host, inner
        else:
            runs.append([ip, host, host, inner, inner, proto])
    span = lambda low, high: str(low) if low == high else f"{low}-{high}"
    return ", ".join(f"{ip}:{span(h1, h2)}->{span(i1, i2)}/{proto}" for ip, h1, h2, i1, i2, proto in runs)


def container_state(container) -> tuple[str, str]:
    state = container.attrs["State"]
    health = state.get("Health", {}).get("Status", "-")
    return state["Status"], health


def wait_healthy(api, settings: Settings, wanted: list[str], timeout: float = 600, out=sys.stdout) -> float:
    """Poll until every wanted service is healthy; a progress line meanwhile."""
    start = time.monotonic()
    interactive = out.isatty()
    last_line = ""
    while True:
        states = {}
        for container in compose.project_containers(api, settings):
            name = container.labels.get("com.docker.compose.service")
            if name in wanted:
                states[name] = container_state(container)
        elapsed = time.monotonic() - start
        parts = []
        for name in wanted:
            status, health = states.get(name, ("missing", "-"))
            parts.append(f"{name} {health if status == 'running' else status}")
        line = f"  waiting for healthy services [{elapsed:4.0f}s]: " + ", ".join(parts)
        if interactive:
            out.write("\r" + line.ljust(len(last_line)))
            out.flush()
        elif line.split("]: ")[1] != last_line.split("]: ")[-1]:
            out.write(line + "\n")
            out.flush()
        last_line = line
        if all(states.get(name, ("", ""))[1] == "healthy" for name in wanted):
            if interactive:
                out.write("\n")
            return elapsed
        for name, (status, _health) in states.items():
            if status in ("exited", "dead"):
                if interactive:
                    out.write("\n")
                raise StackError(
                    f"service {name} stopped during start-up; its last log lines:\n"
                    + tail_logs(settings, name)
                    + f"\nFix the cause, then run `invoke up` again (`invoke logs {name}` shows everything)."
                )
        if elapsed > timeout:
            if interactive:
                out.write("\n")
            late = [name for name in wanted if states.get(name, ("", ""))[1] != "healthy"]
            raise StackError(
                f"not healthy after {timeout:.0f}s: {', '.join(late)}; their last log lines:\n"
                + "\n".join(tail_logs(settings, name) for name in late)
            )
        time.sleep(1)


def unhealthy_report(api, settings: Settings) -> str:
    """The services that are not healthy, each with its last log lines."""
    states = {c.labels.get("com.docker.compose.service"): container_state(c)
              for c in compose.project_containers(api, settings)}
    lines = []
    for name in services(settings):
        status, health = states.get(name, ("not created", "-"))
        if (status, health) != ("running", "healthy"):
            lines.append(f"--- {name}: {status}, {health}")
            if status != "not created":
                lines.append(tail_logs(settings, name, 15))
    return "\n".join(lines)


def tail_logs(settings: Settings, service: str, lines: int = 20) -> str:
    result = run_compose(settings, "logs", "--no-color", "--tail", str(lines), service, check=False, capture=True)
    return result.stdout.strip() or result.stderr.strip()


def secret_stores(settings: Settings) -> dict[str, Path]:
    """Each password that a store keeps from its first start, and where that store lives."""
    mariadb = settings.data_dir / "mariadb" / "data"
    return {"db_root_password": mariadb, "db_password": mariadb, "wp_admin_password": mariadb,
            "wp_user_password": mariadb, "mongodb_password": settings.data_dir / "mongodb" / "sqlite"}


MIN_FREE_BYTES = 512 * 1024 * 1024


def check_disk_space(settings: Settings, minimum: int = MIN_FREE_BYTES) -> None:
    """Fail early when DATA_DIR's disk is (nearly) full: databases refuse writes then."""
    free = shutil.disk_usage(settings.data_dir).free
    if free < minimum:
        raise StackError(
            f"only {free // 2**20} MB free on the disk of DATA_DIR ({settings.data_dir}); the databases "
            f"need at least {minimum // 2**20} MB. Free some space, or move DATA_DIR in .env to a larger disk.")


def ensure_data_dirs(settings: Settings) -> None:
    for sub in composefile.data_subdirs():
        path = settings.data_dir / sub
        try:
            path.mkdir(parents=True, exist_ok=True)
        except PermissionError:
            raise StackError(
                f"cannot create {path}: permission denied. Create {settings.data_dir} yourself "
                f"(sudo install -d -o $USER {settings.data_dir}) or choose another DATA_DIR in .env."
            ) from None


def remove_data_dir(api, data_dir: Path, helper_image: str | None) -> None:
    """Delete DATA_DIR; files owned by container users go through a container."""
    if not data_dir.exists():
        return
    try:
        shutil.rmtree(data_dir)
        return
    except PermissionError:
        if helper_image is None:
            raise StackError(f"cannot delete {data_dir} (files owned by container users); "
                             f"run `sudo rm -rf {data_dir}`") from None
    api.containers.run(helper_image, ["find", "/data", "-mindepth", "1", "-delete"],
                       volumes={str(data_dir): {"bind": "/data", "mode": "rw"}}, remove=True)
    shutil.rmtree(data_dir)


def object_cache_summary(api, settings: Settings) -> str:
    """One line on WordPress's Redis object cache, read from Redis itself."""
    redis = compose.container(api, settings, "redis")
    if redis is None:
        return "object cache: no redis container"
    if redis.status != "running":
        return f"object cache: redis is {redis.status}; WordPress serves pages without it"
    # cache-stats (in the redis image) logs in as Redis's maintenance user,
    # which reads counters and no key.
    result = compose.exec_in(settings, "redis", ["cache-stats"], timeout=30)
    if result.returncode != 0:
        return f"object cache: cannot query redis ({result.stderr.decode(errors='replace').strip()[:120]})"
    info = dict(line.split(":", 1) for line in result.stdout.decode().split() if ":" in line)
    hits, misses = int(info.get("keyspace_hits", 0)), int(info.get("keyspace_misses", 0))
    ratio = f"{100 * hits / (hits + misses):.1f}%" if hits + misses else "n/a"
    # The CLI's own connection is one of the connected clients.
    clients = int(info.get("connected_clients", 1)) - 1
    state = "connected" if clients > 0 else "no client connected yet"
    return (f"object cache: {state} ({clients} PHP worker connection(s)), {info.get('keys', '?')} keys, "
            f"hit ratio {ratio} ({hits} hits, {misses} misses)")


def snapshot(api, settings: Settings) -> dict | None:
    """Each running container of a stack: id, start time and restart count;
    None when the stack is not running."""
    running = compose.project_containers(api, settings, all_=False)
    if not running:
        return None
    return {c.name: (c.id, c.attrs["State"]["StartedAt"], c.attrs["RestartCount"]) for c in running}


def compare_snapshot(api, settings: Settings, before: dict | None) -> list[str]:
    """What changed in a stack since `snapshot`: one sentence per container."""
    if before is None:
        return []
    after = snapshot(api, settings) or {}
    changes = []
    for name, (cid, started, restarts) in before.items():
        now = after.get(name)
        if now is None:
            changes.append(f"{name} is gone")
        elif now[0] != cid:
            changes.append(f"{name} was recreated")
        elif now[1:] != (started, restarts):
            changes.append(f"{name} was restarted")
    return changes
