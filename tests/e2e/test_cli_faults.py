"""The task runner reports a taken port in one sentence, before building anything."""

import os
import socket

from .conftest import invoke


def test_port_in_use_is_reported_before_anything_starts(stack_up):
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        env = dict(os.environ, HTTPS_PORT=str(port), BIND_ADDRESS="127.0.0.1")
        result = invoke("up", env=env, check=False)
    assert result.returncode == 1, f"exit {result.returncode}: {result.stdout[-300:]} {result.stderr[-300:]}"
    assert f"port {port}" in result.stderr and "already in use" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert "Building" not in result.stdout, "the build started before the port check"
