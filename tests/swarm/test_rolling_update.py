"""A rolling update of WordPress (every task replaced, one node at a time,
as `invoke deploy` does after an image change) while a client streams page
views and REST writes through node 1: no request fails."""

from __future__ import annotations

import time
import uuid

import pytest

from tests.loopback import names_to_loopback

from .conftest import site_streams

pytestmark = pytest.mark.swarm


def running_tasks(service) -> set[str]:
    return {t["ID"] for t in service.tasks(filters={"desired-state": "running"}) if t["Status"]["State"] == "running"}


def test_a_rolling_update_under_load_fails_no_request(swarm, swarm_api):
    settings, stack = swarm["settings"], swarm["settings"].project
    service = swarm_api.services.get(f"{stack}_wordpress")
    wanted = service.attrs["Spec"]["Mode"]["Replicated"]["Replicas"]
    assert wanted >= 2, f"WordPress has {wanted} replica: an update would stop the site"
    # Every replica running (one placed again after the failover test may still be starting).
    deadline = time.monotonic() + 300
    while len(before := running_tasks(service)) < wanted and time.monotonic() < deadline:
        time.sleep(5)
    assert len(before) == wanted, f"WordPress runs {len(before)} of its {wanted} tasks"
    acknowledged: dict[int, str] = {}
    ca = str(settings.secrets_dir / "tls" / "ca.crt")
    with names_to_loopback(settings.hostnames, swarm["addresses"][0]):
        streams = site_streams(settings, ca, f"update-{uuid.uuid4().hex[:8]}", acknowledged)
        for stream in streams:
            stream.thread.start()
        time.sleep(5)
        started = time.monotonic()
        service.force_update()  # a new task for every old one, by the service's update_config
        deadline = started + 600
        while time.monotonic() < deadline:
            service.reload()
            now = running_tasks(service)
            if (service.attrs.get("UpdateStatus", {}).get("State") == "completed"
                    and len(now) == wanted and not now & before):
                break
            time.sleep(2)
        else:
            pytest.fail(f"the update did not complete in 10 minutes: {service.attrs.get('UpdateStatus')}")
        updated_in = time.monotonic() - started
        time.sleep(5)
        for stream in streams:
            stream.stop.set()
            stream.thread.join(timeout=30)
    report = [f"{s.name}: {s.answered(started, started + updated_in)} answered during the update "
              f"({updated_in:.0f} s), {len(s.failures(0))} failed: {[d for _, d in s.failures(0)][:3]}"
              for s in streams]
    print("\n  " + "\n  ".join(report))
    for stream in streams:
        assert stream.answered(started, started + updated_in) > 0, f"{stream.name}: no load during the update"
        assert not stream.failures(0), f"requests failed during the rolling update: {report}"
