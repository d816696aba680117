"""Data survives a restart of the stack and a crash of the database."""

import uuid

import pytest

from .conftest import crash, invoke

pytestmark = pytest.mark.disruptive


def assert_post_served(http, post):
    r = http.get(post["link"], timeout=30)
    title = post["title"]["raw"] if isinstance(post["title"], dict) and "raw" in post["title"] else post["title"]["rendered"]
    assert r.status_code == 200 and title in r.text, f"GET {post['link']} -> {r.status_code}; post {title!r} lost"


def create_todo(http, settings, title):
    r = http.post(settings.url(host=f"todo.{settings.domain}", path="/api/todos"), json={"title": title}, timeout=30)
    assert r.status_code == 201, f"creating a todo -> {r.status_code}: {r.text[:200]}"
    return r.json()


def assert_todo_kept(http, settings, item):
    r = http.get(settings.url(host=f"todo.{settings.domain}", path=f"/api/todos/{item['id']}"), timeout=30)
    assert r.status_code == 200 and r.json() == item, f"todo {item['title']!r} lost: {r.status_code} {r.text[:200]}"


def test_post_and_todo_survive_down_and_up(wordpress, admin, http, todo_session, stack_up):
    post = wordpress.create_post(admin, f"Survives down and up {uuid.uuid4().hex[:8]}")
    item = create_todo(todo_session, stack_up, f"Survives down and up {uuid.uuid4().hex[:8]}")
    invoke("down")
    invoke("up")
    assert_post_served(http, post)
    # The session lives in the store too: the same cookie still works.
    assert_todo_kept(todo_session, stack_up, item)


def test_up_recreates_a_network_whose_settings_changed(wordpress, admin, http, stack_up, docker_api):
    """After an upgrade that changes a network's options (here nginx's network
    to WordPress left at Docker's default MTU), `invoke up` needs no manual
    step and keeps the data."""
    post = wordpress.create_post(admin, f"Survives a network upgrade {uuid.uuid4().hex[:8]}")
    invoke("down")
    name = f"{stack_up.project}_nginx-wordpress"
    docker_api.networks.create(name, driver="bridge", labels={
        "com.docker.compose.project": stack_up.project, "com.docker.compose.network": "nginx-wordpress",
        "com.docker.compose.version": "1.29.2"})
    result = invoke("up")
    assert "network settings changed" in result.stdout + result.stderr, result.stdout[-500:]
    mtu = docker_api.networks.get(name).attrs["Options"].get("com.docker.network.driver.mtu")
    assert mtu == "65520", f"{name} was not recreated with the compose file's MTU: {mtu}"
    assert_post_served(http, post)


def test_post_survives_a_database_crash_and_mariadb_restarts(wordpress, admin, http, docker_api):
    post = wordpress.create_post(admin, f"Survives a crash {uuid.uuid4().hex[:8]}")
    crash(docker_api, "mariadb")
    assert_post_served(http, post)
    other = wordpress.create_post(admin, f"Written after the crash {uuid.uuid4().hex[:8]}")
    assert_post_served(http, other)


def test_todo_survives_a_store_crash_and_the_store_restarts(todo_session, docker_api, stack_up):
    item = create_todo(todo_session, stack_up, f"Survives a crash {uuid.uuid4().hex[:8]}")
    crash(docker_api, "mongodb")
    assert_todo_kept(todo_session, stack_up, item)
    after = create_todo(todo_session, stack_up, f"Written after the crash {uuid.uuid4().hex[:8]}")
    assert_todo_kept(todo_session, stack_up, after)
