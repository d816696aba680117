"""Persistence across a reboot, as an evaluator checks it: the whole Docker
engine goes down (here: the lab node, a machine with its own engine, is
restarted), comes back, and the stack returns by itself with its posts,
uploads, users and todos.

Needs a lab node whose checkout ran `make` (CI's Debian 13 stage):
`pytest tests/lab` after `invoke lab up --nodes 1` and `make` inside it.
"""

import subprocess
import time

import pytest

from inception import settings as config

pytestmark = pytest.mark.lab
CHECKOUT = "/root/inception"


def node() -> str:
    return f"{config.load(required=False).project}-lab-1"


def in_node(script: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(["docker", "exec", node(), "bash", "-c", f"cd {CHECKOUT} && {script}"],
                          capture_output=True, text=True, timeout=timeout)


def wait_stack_healthy(timeout: float = 600) -> float:
    started = time.monotonic()
    last = ""
    while time.monotonic() - started < timeout:
        ps = in_node("docker ps --all --format '{{.Names}} {{.Status}}'", timeout=30)
        last = ps.stdout
        lines = [line for line in ps.stdout.splitlines() if line.strip()]
        if ps.returncode == 0 and len(lines) >= 9 and all("(healthy)" in line for line in lines):
            return time.monotonic() - started
        time.sleep(3)
    pytest.fail(f"the stack did not come back healthy within {timeout:.0f}s after the reboot:\n{last}")


def test_stack_and_data_come_back_after_the_engine_restarts():
    before = in_node("docker ps --format '{{.Names}}'", timeout=30)
    assert before.returncode == 0 and "nginx" in before.stdout.split(), (
        f"no stack running in {node()} (run `make` in {CHECKOUT} there first): {before.stdout}{before.stderr}")
    wrote = in_node(".venv/bin/python -m tests.lab.reboot_data write /root/reboot-state.json")
    assert wrote.returncode == 0, f"writing the data failed:\n{wrote.stdout}\n{wrote.stderr[-2000:]}"

    restarted = subprocess.run(["docker", "restart", "--time", "60", node()], capture_output=True, text=True)
    assert restarted.returncode == 0, restarted.stderr
    took = wait_stack_healthy()

    checked = in_node(".venv/bin/python -m tests.lab.reboot_data check /root/reboot-state.json")
    assert checked.returncode == 0, (f"data lost across the reboot ({took:.0f}s to healthy):\n"
                                     f"{checked.stdout}\n{checked.stderr[-2000:]}")
    print(f"\nback healthy {took:.0f}s after the engine started; {checked.stdout.strip()}")
