"""Data survives a restart of the stack and a crash of the database."""

import os
import signal
import uuid

import pytest

from inception import compose

from .conftest import invoke, wait_until

pytestmark = pytest.mark.disruptive


def assert_post_served(http, post):
    r = http.get(post["link"], timeout=30)
    title = post["title"]["raw"] if isinstance(post["title"], dict) and "raw" in post["title"] else post["title"]["rendered"]
    assert r.status_code == 200 and title in r.text, f"GET {post['link']} -> {r.status_code}; post {title!r} lost"


def test_post_survives_down_and_up(wordpress, admin, http):
    post = wordpress.create_post(admin, f"Survives down and up {uuid.uuid4().hex[:8]}")
    invoke("down")
    invoke("up")
    assert_post_served(http, post)


def test_post_survives_a_database_crash_and_mariadb_restarts(wordpress, admin, http, docker_api, stack_up):
    post = wordpress.create_post(admin, f"Survives a crash {uuid.uuid4().hex[:8]}")
    container = docker_api.containers.get("mariadb")
    restarts = container.attrs["RestartCount"]
    pid = container.attrs["State"]["Pid"]
    # SIGKILL from the host: a crash, which the restart policy answers
    # (`docker kill` would count as a manual stop).
    os.kill(pid, signal.SIGKILL)

    def restarted_and_healthy():
        container.reload()
        state = container.attrs["State"]
        return (container.attrs["RestartCount"] > restarts and state["Pid"] != pid
                and state.get("Health", {}).get("Status") == "healthy")

    wait_until(restarted_and_healthy, 120, "mariadb to restart by itself and become healthy")
    assert_post_served(http, post)
    other = wordpress.create_post(admin, f"Written after the crash {uuid.uuid4().hex[:8]}")
    assert_post_served(http, other)
