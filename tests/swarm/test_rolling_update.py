"""A rolling update of WordPress (every task replaced, one node at a time,
as `invoke deploy` does after an image change) while a client streams page
views and REST writes through node 1: no request fails. An update whose new
task fails its healthcheck rolls back by itself."""

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


def test_an_update_whose_task_fails_its_healthcheck_rolls_back_by_itself(swarm, swarm_api):
    """The static site's service gets a healthcheck that always fails (as a
    broken new image would): Swarm stops one old task, the new one never
    becomes healthy, and the update rolls back to the previous spec, while the
    site keeps answering through the other replica."""
    import docker
    from .conftest import Stream
    from .test_deploy import get_through

    settings, stack = swarm["settings"], swarm["settings"].project
    service = swarm_api.services.get(f"{stack}_static")
    before = service.attrs["Spec"]["TaskTemplate"]["ContainerSpec"]["Healthcheck"]["Test"]

    def view():
        status, _ = get_through(swarm["addresses"][0], settings, f"static.{settings.domain}")
        return status == 200, f"static site: {status}"

    stream = Stream("static site", view)
    stream.thread.start()
    time.sleep(3)
    service.update(healthcheck=docker.types.Healthcheck(test=["CMD", "false"], interval=1_000_000_000,
                                                        timeout=1_000_000_000, retries=1, start_period=1_000_000_000))
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        service.reload()
        state = (service.attrs.get("UpdateStatus") or {}).get("State")
        if state in ("rollback_completed", "rollback_paused", "completed", "paused"):
            break
        time.sleep(2)
    time.sleep(3)
    stream.stop.set()
    stream.thread.join(timeout=30)
    assert state == "rollback_completed", f"the update ended {state!r}: {service.attrs.get('UpdateStatus')}"
    assert service.attrs["Spec"]["TaskTemplate"]["ContainerSpec"]["Healthcheck"]["Test"] == before, \
        "the service's spec is not the one before the update"
    deadline = time.monotonic() + 120
    while len(running_tasks(service)) < 2 and time.monotonic() < deadline:
        time.sleep(2)
    assert len(running_tasks(service)) == 2, "the static site did not get both replicas back"
    answered = stream.answered(0, time.monotonic())
    print(f"\n  static site: {answered} answered during the failed update and its rollback, "
          f"{len(stream.failures(0))} failed")
    assert answered > 0 and not stream.failures(0), f"requests failed: {stream.failures(0)[:3]}"
