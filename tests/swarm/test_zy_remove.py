"""`invoke deploy --remove` stops the Galera nodes one by one, so the last to
stop may start the cluster again: the next `invoke deploy` brings the
database back by itself, with its data."""

from __future__ import annotations

import time

import pytest

from inception import deploy, lab

from .conftest import HOST_ENGINE, run_task
from .test_deploy import get_through
from .test_failover import in_mariadb_on

pytestmark = pytest.mark.swarm


def grastate(host_api, settings, index: int) -> str:
    node = host_api.containers.get(lab.node_name(settings, index))
    path = f"/var/lib/docker/volumes/{settings.project}_mariadb/_data/data/grastate.dat"
    result = node.exec_run(["cat", path])
    assert result.exit_code == 0, f"node {index}: no {path}: {result.output.decode()[-200:]}"
    return result.output.decode()


def test_remove_then_deploy_starts_the_cluster_again_with_its_data(swarm, swarm_api, host_api):
    settings = swarm["settings"]
    marker = f"remove-{int(time.time())}"
    in_mariadb_on(host_api, settings, 1, f"CREATE TABLE IF NOT EXISTS {settings['MYSQL_DATABASE']}.inception_probe "
                                         f"(v VARCHAR(64) PRIMARY KEY); INSERT INTO "
                                         f"{settings['MYSQL_DATABASE']}.inception_probe VALUES ('{marker}')")
    removed = run_task(settings.env_file, "deploy", "--remove", docker_host=swarm["docker_host"])
    assert removed.returncode == 0, f"`invoke deploy --remove` failed:\n{removed.stdout}\n{removed.stderr}"
    # `docker stack rm` returns before the tasks have stopped, on every node.
    nodes = [host_api.containers.get(lab.node_name(settings, index)) for index in (1, 2, 3)]
    deadline = time.monotonic() + 180
    while any(node.exec_run(["docker", "ps", "--quiet", "--filter", f"name={settings.project}_mariadb"]).output.strip()
              for node in nodes):
        assert time.monotonic() < deadline, "MariaDB tasks still run 3 minutes after `invoke deploy --remove`"
        time.sleep(2)
    states = {index: grastate(host_api, settings, index) for index in (1, 2, 3)}
    safe = [index for index, text in states.items() if "safe_to_bootstrap: 1" in text]
    assert len(safe) == 1, f"want exactly one node safe to start the cluster: {states}"

    deployed = run_task(settings.env_file, "deploy", "--build-engine", HOST_ENGINE, "--files", lab.FILES_PATH,
                        "--timeout", "600", docker_host=swarm["docker_host"])
    assert deployed.returncode == 0, f"`invoke deploy` after --remove failed:\n{deployed.stdout[-3000:]}"
    assert deploy.service_states(swarm_api, settings.project)["mariadb"] == (3, 3)
    for index in (1, 2, 3):
        rows = in_mariadb_on(host_api, settings, index,
                             f"SELECT v FROM {settings['MYSQL_DATABASE']}.inception_probe WHERE v = '{marker}'")
        assert rows == marker, f"node {index}'s MariaDB lost the row written before --remove: {rows!r}"
    status, _ = get_through(swarm["addresses"][0], settings, settings.domain)
    assert status == 200, f"the site after --remove and deploy: {status}"
