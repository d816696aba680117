"""An evaluator's plain Compose commands work from the root and from srcs/,
with whichever Compose is installed (v2 plugin and/or docker-compose 1.29),
and see the user's running stack."""

import os
import shutil
import subprocess

import pytest

from inception import compose, settings as config

ROOT = config.ROOT
pytestmark = pytest.mark.runner


def programs():
    found = []
    if shutil.which("docker") and subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0:
        found.append(("docker", "compose"))
    if shutil.which("docker-compose"):
        found.append(("docker-compose",))
    return found


@pytest.mark.parametrize("folder, extra", [(".", []), ("srcs", []), (".", ["-f", "srcs/docker-compose.yml"])],
                         ids=["root", "srcs", "root -f srcs/docker-compose.yml"])
def test_plain_compose_commands_see_the_stack(folder, extra):
    user = config.load()
    assert programs(), "no Compose installed"
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("COMPOSE_", "INCEPTION_"))}
    for program in programs():
        services = subprocess.run([*program, *extra, "config", "--services"], cwd=ROOT / folder, env=env,
                                  capture_output=True, text=True)
        assert services.returncode == 0, f"`{' '.join(program)} config` in {folder}/: {services.stderr[-500:]}"
        assert "nginx" in services.stdout.split(), services.stdout
        ps = subprocess.run([*program, *extra, "ps", "-q", "nginx"], cwd=ROOT / folder, env=env,
                            capture_output=True, text=True)
        running = compose.container(compose.client(), user, "nginx")
        assert ps.returncode == 0 and running is not None and ps.stdout.strip() == running.id, (
            f"`{' '.join(program)} ps` in {folder}/ does not show the running nginx: {ps.stdout} {ps.stderr[-300:]}")


def test_the_users_containers_are_named_after_their_services():
    """42's rule holds for the user's stack: no prefix, the service's own name."""
    user = config.load()
    assert user["CONTAINER_PREFIX"] == "", f"the user's stack has a container prefix: {user['CONTAINER_PREFIX']!r}"
    containers = compose.project_containers(compose.client(), user)
    assert containers, "the user's stack is not running: run `make` first"
    wrong = {c.labels["com.docker.compose.service"]: c.name for c in containers
             if c.name != c.labels["com.docker.compose.service"]}
    assert not wrong, f"containers not named after their service: {wrong}"
