"""`invoke bench --swarm` against the lab: the rendered-page rate with 1 and
with 2 WordPress replicas, nothing failed, the replica count put back."""

from __future__ import annotations

import json
import re

import pytest

from inception import bench

from .conftest import run_task

pytestmark = pytest.mark.swarm


def test_bench_reports_rendered_pages_with_one_and_two_replicas(swarm, swarm_api):
    settings, stack = swarm["settings"], swarm["settings"].project
    service = swarm_api.services.get(f"{stack}_wordpress")
    wanted = service.attrs["Spec"]["Mode"]["Replicated"]["Replicas"]
    done = run_task(settings.env_file, "bench", "--swarm", "--duration", "3", "--repeats", "1",
                    docker_host=swarm["docker_host"], timeout=900)
    assert done.returncode == 0, f"`invoke bench --swarm` failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
    rows = re.findall(r"^\| (\d) \| ([\d.]+) \|.*\| (\d+) \|$", done.stdout, re.MULTILINE)
    assert [r[0] for r in rows] == ["1", "2"], f"no row for 1 and 2 replicas:\n{done.stdout[-1500:]}"
    for replicas, rate, failed in rows:
        assert float(rate) > 0 and failed == "0", f"{replicas} replica(s): {rate} pages/s, {failed} failed"
    report = json.loads((bench.OUT_DIR / "swarm.json").read_text())
    assert [r["replicas"] for r in report["results"]] == [1, 2]
    service.reload()
    assert service.attrs["Spec"]["Mode"]["Replicated"]["Replicas"] == wanted, "the replica count was not put back"
