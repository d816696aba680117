"""Last: `invoke lab down` leaves no container, network or volume behind."""

import pytest

from inception import lab

from .conftest import run_task

pytestmark = pytest.mark.swarm


def test_lab_down_leaves_nothing(swarm, host_api):
    settings = swarm["settings"]
    done = run_task(settings.env_file, "lab", "down")
    assert done.returncode == 0, done.stderr
    project = settings.project
    containers = [c.name for c in host_api.containers.list(all=True) if c.name.startswith(project)]
    networks = [n.name for n in host_api.networks.list() if n.name.startswith(project)]
    volumes = [v.name for v in host_api.volumes.list() if v.name.startswith(project)]
    assert not (containers or networks or volumes), f"left behind: {containers} {networks} {volumes}"
    assert not lab.socket_dir(settings).exists()
