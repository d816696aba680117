"""Throwaway instances of the stack: what `invoke test` (and `invoke bench
--isolated`) run against, so they never touch the user's own stack.

An instance is the same compose file and images with other settings: its
own project name (networks, volumes), container-name prefix, DATA_DIR and
secrets in a temporary folder, and free ports on 127.0.0.1 only.
"""

from __future__ import annotations

import errno
import os
import random
import secrets as random_bytes
import socket
import tempfile
from pathlib import Path

from . import settings as config

from .errors import InceptionError
# Consecutive ports an instance needs: HTTPS, FTP, then the passive range.
PASSIVE_PORTS = 10
PORT_BLOCK = 2 + PASSIVE_PORTS
# Below the kernel's ephemeral range (32768-60999), which outgoing
# connections use, and away from well-known service ports.
PORT_SEARCH = (20000, 32000)


class InstanceError(InceptionError):
    pass


def _free(port: int) -> bool:
    for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
        with socket.socket(socket.AF_INET, kind) as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError as exc:
                if exc.errno == errno.EADDRINUSE:
                    return False
                raise
    return True


def free_port_block(size: int = PORT_BLOCK, search: tuple[int, int] = PORT_SEARCH) -> int:
    """The first port of `size` consecutive ports that nothing holds on 127.0.0.1."""
    low, high = search
    # A random start: two instances started at once rarely probe the same block.
    starts = list(range(low, high - size, size))
    random.shuffle(starts)
    for start in starts:
        if all(_free(port) for port in range(start, start + size)):
            return start
    raise InstanceError(f"no {size} consecutive free ports between {low} and {high} on 127.0.0.1")


def instance_values(base: dict, root: Path, name: str, first_port: int) -> dict:
    """The user's settings with everything that could meet their stack replaced."""
    values = dict(base)
    values.update({
        "COMPOSE_PROJECT_NAME": name,
        "CONTAINER_PREFIX": f"{name}-",
        "DATA_DIR": str(root / "data"),
        "SECRETS_DIR": str(root / "secrets"),
        "BIND_ADDRESS": "127.0.0.1",
        "HTTPS_PORT": str(first_port),
        "FTP_PORT": str(first_port + 1),
        "FTP_PASV_MIN_PORT": str(first_port + 2),
        "FTP_PASV_MAX_PORT": str(first_port + 1 + PASSIVE_PORTS),
        "FTP_PASV_ADDRESS": "127.0.0.1",
    })
    return values


def create(base: config.Settings, kind: str = "test") -> config.Settings:
    """Write a new instance's .env into a fresh temporary folder; return its settings."""
    root = Path(tempfile.mkdtemp(prefix=f"inception-{kind}-"))
    os.chmod(root, 0o755)  # the stores' daemons traverse it to reach DATA_DIR
    name = f"{base.project}-{kind}-{random_bytes.token_hex(3)}"
    values = instance_values(base.values, root, name, free_port_block())
    env_file = root / ".env"
    env_file.write_text(config.render_env(values))
    return config.load(env_file)


def is_instance(settings: config.Settings) -> bool:
    """A throwaway instance shares the user's images; only the user's stack owns them."""
    return bool(settings["CONTAINER_PREFIX"])
