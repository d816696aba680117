"""A 3-node lab of its own (unique project name), the stack deployed on it
with `invoke deploy`, removed at the end (`invoke lab down`).

Needs the images built on this machine's engine first (`invoke build`, with
INCEPTION_IMAGE_TAG when you use your own tag): the lab's manager receives
them from there, as `invoke deploy --build-engine` does on real machines.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import itertools
import sys
import threading
import time
import uuid

import pytest

from inception import compose, instance, lab, secrets, settings as config
from tests.e2e.conftest import WordPress, new_session

NODES = 3
HOST_ENGINE = "unix:///var/run/docker.sock"


def run_task(env_file, *args, docker_host=None, timeout=1200):
    env = {**os.environ, "INCEPTION_ENV_FILE": str(env_file)}
    env.pop("DOCKER_HOST", None)
    if docker_host:
        env["DOCKER_HOST"] = docker_host
    return subprocess.run([sys.executable, "-m", "invoke", *args], cwd=config.ROOT, env=env, text=True,
                          capture_output=True, timeout=timeout, check=False)


@pytest.fixture(scope="session")
def host_api():
    os.environ.pop("DOCKER_HOST", None)
    return compose.client()


@pytest.fixture(scope="session")
def swarm(host_api):
    """The deployed stack: its settings, the manager's DOCKER_HOST, the node addresses."""
    for name in ("nginx", "wordpress", "mariadb", "registry"):
        image = f"{name}:{compose.IMAGE_TAG}"
        found = subprocess.run(["docker", "image", "inspect", image], capture_output=True, check=False)
        if found.returncode != 0 and name != "registry":
            pytest.fail(f"image {image} is not built on this engine; run `invoke build` first")
    # From the checkout's own settings, whatever instance the shell points at:
    # Swarm names (stack + object) must fit in 64 characters.
    os.environ.pop("INCEPTION_ENV_FILE", None)
    settings = instance.create(config.load(required=False), kind="swarm")
    up = run_task(settings.env_file, "lab", "up", "--nodes", str(NODES))
    try:
        assert up.returncode == 0, f"`invoke lab up` failed:\n{up.stdout}\n{up.stderr}"
        host = lab.docker_host(settings)
        deployed = run_task(settings.env_file, "deploy", "--build-engine", HOST_ENGINE, "--files", lab.FILES_PATH,
                            "--timeout", "600", docker_host=host)
        assert deployed.returncode == 0, f"`invoke deploy` failed:\n{deployed.stdout[-3000:]}\n{deployed.stderr}"
        addresses = [lab.node_address(host_api, settings, lab.node_name(settings, i)) for i in range(1, NODES + 1)]
        yield {"settings": settings, "docker_host": host, "addresses": addresses, "deploy_output": deployed.stdout}
    finally:
        run_task(settings.env_file, "lab", "down")
        shutil.rmtree(settings.env_file.parent, ignore_errors=True)


@pytest.fixture(scope="session")
def swarm_api(swarm):
    import docker

    return docker.DockerClient(base_url=swarm["docker_host"], timeout=60)


class Stream:
    """One client loop; each request's outcome with its time."""

    def __init__(self, name, step):
        self.name, self.step = name, step
        self.results: list[tuple[float, bool, str]] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        while not self.stop.is_set():
            moment = time.monotonic()
            try:
                ok, detail = self.step()
            except Exception as exc:  # a refused, reset or timed-out request is a failed one
                ok, detail = False, repr(exc)[:160]
            self.results.append((moment, ok, detail))
            if not ok:
                time.sleep(0.2)

    def failures(self, since: float):
        return [(t - since, detail) for t, ok, detail in self.results if not ok and t >= since]

    def answered(self, start: float, end: float) -> int:
        return sum(1 for t, ok, _ in self.results if ok and start <= t < end)


def site_streams(settings, ca: str, tag: str, acknowledged: dict) -> list[Stream]:
    """Page views the page cache has never seen (so WordPress renders them
    from the database) and REST writes (posts, as the admin; each one
    acknowledged goes into `acknowledged`, id -> title). The site's names must
    resolve to a node (names_to_loopback)."""
    wordpress = WordPress(settings, ca)
    admin = wordpress.login(settings["WP_ADMIN_USER"], secrets.read_secret("wp_admin_password", settings.secrets_dir))
    nonce = wordpress.rest_nonce(admin)
    anonymous = new_session(ca)
    counter = itertools.count()

    def view():
        r = anonymous.get(wordpress.url(f"/?view={uuid.uuid4().hex}"), timeout=10)
        return r.status_code == 200, f"page view: {r.status_code}"

    def write():
        title = f"{tag}-{next(counter)}"
        r = admin.post(wordpress.url("/wp-json/wp/v2/posts"), headers={"X-WP-Nonce": nonce}, timeout=10,
                       json={"title": title, "content": title, "status": "publish"})
        if r.status_code == 201:
            acknowledged[r.json()["id"]] = title
        return r.status_code == 201, f"REST write: {r.status_code} {r.text[:100]}"

    return [Stream("page views", view), Stream("REST writes", write)]
