"""Facts read from the compose file itself, so that Python never restates
them: the data folders of the stores, the generated secrets, the published
ports. (Run-time facts come from `docker compose config` in stack.py.)"""

from __future__ import annotations

import re
from functools import lru_cache

import yaml

from .settings import ROOT, Settings

COMPOSE_FILE = ROOT / "srcs" / "docker-compose.yml"
VARIABLE = re.compile(r"\$\{([A-Z_][A-Z0-9_]*)(?::?[-?][^}]*)?\}")


@lru_cache(maxsize=None)
def spec() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text())


def interpolate(text: str, values: dict) -> str:
    """${NAME}, ${NAME:?...}, ${NAME:-...} replaced by the settings' values."""
    return VARIABLE.sub(lambda match: values[match.group(1)], text)


def service_profiles() -> dict[str, set[str]]:
    """Each service's compose profiles; empty for the services every
    configuration runs (a service with profiles runs only when one is on)."""
    return {name: set((definition or {}).get("profiles") or []) for name, definition in spec()["services"].items()}


def data_subdirs() -> list[str]:
    """The folders under DATA_DIR that the named volumes bind (`.../mariadb`)."""
    subdirs = []
    for volume in (spec().get("volumes") or {}).values():
        device = ((volume or {}).get("driver_opts") or {}).get("device", "")
        if device.startswith("${DATA_DIR"):
            subdirs.append(device.rsplit("/", 1)[1])
    return subdirs


def secret_files() -> dict[str, str]:
    """Each compose secret and its file, relative to SECRETS_DIR (`tls/ca.crt`)."""
    files = {}
    for name, secret in (spec().get("secrets") or {}).items():
        path = secret["file"]
        files[name] = path.split("}/", 1)[1] if path.startswith("${SECRETS_DIR") else path
    return files


def generated_passwords() -> list[str]:
    """The secrets `invoke setup` generates as random values (all but the TLS files)."""
    return [name for name, path in secret_files().items() if "/" not in path]


def published_sockets(settings: Settings) -> list[tuple[str, int, str]]:
    """(service, host port, protocol) for every port the stack publishes, ranges expanded."""
    sockets = []
    for service, definition in spec()["services"].items():
        for entry in definition.get("ports") or []:
            published, _, protocol = interpolate(str(entry), settings.values).partition("/")
            host = published.rsplit(":", 1)[0].rsplit(":", 1)[-1]
            low, _, high = host.partition("-")
            sockets += [(service, port, protocol or "tcp") for port in range(int(low), int(high or low) + 1)]
    return sockets


def published_ports(settings: Settings) -> list[tuple[str, int]]:
    """(service, host port) for every port the stack publishes, ranges expanded."""
    ports = []
    for service, definition in spec()["services"].items():
        for entry in definition.get("ports") or []:
            published = interpolate(str(entry), settings.values).split("/")[0]
            host = published.rsplit(":", 1)[0].rsplit(":", 1)[-1]
            low, _, high = host.partition("-")
            ports += [(service, port) for port in range(int(low), int(high or low) + 1)
                      if (service, port) not in ports]  # 443/tcp and 443/udp: one port number
    return ports
