"""Operations on the running stack that tasks.py and the tests share."""

from __future__ import annotations

import errno
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

from . import compose
from .settings import Settings

DATA_SUBDIRS = ("mariadb", "wordpress")


class StackError(Exception):
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
    out = run_compose(settings, "config", "--services", capture=True).stdout
    return [line.strip() for line in out.splitlines() if line.strip()]


def published_ports(settings: Settings) -> list[tuple[str, int]]:
    """(service, host port) for every port the stack publishes."""
    ports = [("nginx", int(settings["HTTPS_PORT"])), ("ftp", int(settings["FTP_PORT"]))]
    low, high = int(settings["FTP_PASV_MIN_PORT"]), int(settings["FTP_PASV_MAX_PORT"])
    return ports + [("ftp", port) for port in range(low, high + 1)]


def check_ports_free(api, settings: Settings) -> None:
    """Fail before starting when another program holds one of our ports."""
    ours = set()
    for container in compose.project_containers(api, settings, all_=False):
        for bindings in (container.attrs["NetworkSettings"]["Ports"] or {}).values():
            ours.update(int(b["HostPort"]) for b in bindings or [])
    address = settings["BIND_ADDRESS"]
    for service, port in published_ports(settings):
        if port in ours:
            continue
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((address, port))
            except PermissionError:
                continue  # a privileged port: Docker binds it, not us; it reports conflicts itself
            except OSError as exc:
                if exc.errno == errno.EADDRINUSE:
                    raise StackError(
                        f"port {port} ({service}) on {address} is already in use by another program. "
                        f"Stop that program (`sudo ss -ltnp 'sport = :{port}'` shows it) "
                        f"or choose another port in .env."
                    ) from None
                raise


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


def tail_logs(settings: Settings, service: str, lines: int = 20) -> str:
    result = run_compose(settings, "logs", "--no-color", "--tail", str(lines), service, check=False, capture=True)
    return result.stdout.strip() or result.stderr.strip()


def ensure_data_dirs(settings: Settings) -> None:
    for sub in DATA_SUBDIRS:
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
