"""The todo app: the full API contract through nginx, and the page in Chromium."""

import json
import uuid

import pytest

from inception import compose

from .conftest import assert_internal_only, new_session, run_once


@pytest.fixture
def todo(stack_up, ca_file):
    base = stack_up.url(host=f"todo.{stack_up.domain}", path="")
    with new_session(ca_file) as session:
        yield session, base


def create(session, base, title, **extra):
    r = session.post(f"{base}/api/todos", json={"title": title, **extra}, timeout=30)
    assert r.status_code == 201, f"POST /api/todos -> {r.status_code}: {r.text[:200]}"
    return r.json()


def assert_json_error(r, status, what):
    assert r.status_code == status, f"{what}: expected {status}, got {r.status_code}: {r.text[:200]}"
    assert r.headers.get("Content-Type", "").startswith("application/json"), f"{what}: not JSON: {r.text[:100]}"
    assert isinstance(r.json().get("error"), str) and r.json()["error"], f"{what}: no error message"


def test_create_returns_the_item_with_an_id(todo):
    session, base = todo
    item = create(session, base, "  Buy milk  ")
    assert set(item) == {"id", "title", "done", "created_at", "updated_at"}, item
    assert item["title"] == "Buy milk" and item["done"] is False, item
    assert len(item["id"]) == 24


def test_read_list_update_delete(todo):
    session, base = todo
    item = create(session, base, f"Lifecycle {uuid.uuid4().hex[:6]}")
    url = f"{base}/api/todos/{item['id']}"
    assert session.get(url, timeout=30).json() == item
    assert item["id"] in [t["id"] for t in session.get(f"{base}/api/todos", timeout=30).json()]
    done = session.patch(url, json={"done": True}, timeout=30)
    assert done.status_code == 200 and done.json()["done"] is True, done.text
    renamed = session.patch(url, json={"title": "Renamed"}, timeout=30).json()
    assert renamed["title"] == "Renamed" and renamed["done"] is True and renamed["updated_at"] >= item["updated_at"]
    assert renamed["created_at"] == item["created_at"]
    deleted = session.delete(url, timeout=30)
    assert deleted.status_code == 204, f"DELETE -> {deleted.status_code}"
    assert_json_error(session.get(url, timeout=30), 404, "GET after DELETE")


def test_list_is_in_creation_order(todo):
    session, base = todo
    ids = [create(session, base, f"Order {n}")["id"] for n in range(3)]
    listed = [t["id"] for t in session.get(f"{base}/api/todos", timeout=30).json()]
    assert [i for i in listed if i in ids] == ids, "the list is not in creation order"


@pytest.mark.parametrize("method", ["GET", "PATCH", "DELETE"])
def test_unknown_id_is_404(todo, method):
    session, base = todo
    r = session.request(method, f"{base}/api/todos/{'0' * 24}", json={"done": True}, timeout=30)
    assert_json_error(r, 404, f"{method} unknown id")


@pytest.mark.parametrize("case, kwargs, status", [
    ("malformed JSON", {"data": b'{"title": ', "headers": {"Content-Type": "application/json"}}, 400),
    ("not an object", {"json": ["title"]}, 400),
    ("missing title", {"json": {}}, 422),
    ("empty title", {"json": {"title": "   "}}, 422),
    ("title too long", {"json": {"title": "x" * 201}}, 422),
    ("title not a string", {"json": {"title": 42}}, 422),
    ("done not a boolean", {"json": {"title": "ok", "done": "yes"}}, 422),
    ("unknown field", {"json": {"title": "ok", "priority": 1}}, 422),
    ("not JSON at all", {"data": b"title=x", "headers": {"Content-Type": "application/x-www-form-urlencoded"}}, 415),
    ("oversized body", {"json": {"title": "x" * 20000}}, 413),
])
def test_bad_create_input_gets_a_json_4xx(todo, case, kwargs, status):
    session, base = todo
    assert_json_error(session.post(f"{base}/api/todos", timeout=30, **kwargs), status, case)


@pytest.mark.parametrize("case, body, status", [
    ("empty change", {}, 422),
    ("title too long", {"title": "y" * 201}, 422),
    ("done not a boolean", {"done": 1}, 422),
    ("unknown field", {"id": "x"}, 422),
])
def test_bad_update_input_gets_a_json_4xx(todo, case, body, status):
    session, base = todo
    item = create(session, base, "Target of bad updates")
    assert_json_error(session.patch(f"{base}/api/todos/{item['id']}", json=body, timeout=30), status, case)
    assert session.get(f"{base}/api/todos/{item['id']}", timeout=30).json() == item, f"{case} changed the item"


@pytest.mark.parametrize("bad_id", ["abc", "not-an-object-id-at-all!", "z" * 24])
def test_invalid_id_gets_a_json_400(todo, bad_id):
    session, base = todo
    assert_json_error(session.get(f"{base}/api/todos/{bad_id}", timeout=30), 400, f"id {bad_id!r}")


def test_title_of_200_characters_is_accepted(todo):
    session, base = todo
    assert len(create(session, base, "z" * 200)["title"]) == 200


def test_health_endpoint_checks_the_database(todo):
    session, base = todo
    r = session.get(f"{base}/healthz", timeout=30)
    assert r.status_code == 200 and r.json() == {"status": "ok"}, r.text


def test_document_store_is_not_reachable_from_the_host(docker_api, stack_up):
    assert_internal_only(docker_api, "mongodb", "documents", 27017)


def test_page_adds_completes_and_deletes_a_todo(page, stack_up):
    url = stack_up.url(host=f"todo.{stack_up.domain}")
    p = page.page
    assert p.goto(url, wait_until="networkidle").status == 200
    title = f"Browser todo {uuid.uuid4().hex[:6]}"
    p.fill("#new-title", title)
    p.keyboard.press("Enter")
    item = p.locator(".item", has_text=title)
    item.wait_for()
    item.locator(".toggle").check()
    p.locator(".item.done", has_text=title).wait_for()
    p.click("[data-filter=active]")
    assert p.locator(".item", has_text=title).count() == 0, "the Active filter shows a done item"
    p.click("[data-filter=done]")
    item = p.locator(".item", has_text=title)
    item.wait_for()
    item.locator(".edit").click()
    p.fill(".editor", title + " edited")
    p.keyboard.press("Enter")
    edited = p.locator(".item", has_text=title + " edited")
    edited.wait_for()
    edited.locator(".delete").click()
    edited.wait_for(state="detached")
    page.screenshot("todo-app.png")
    assert not page.problems, f"the page reported problems: {page.problems}"


def test_page_shows_html_in_titles_as_text(page, todo, stack_up):
    session, base = todo
    hostile = f"<img src=x onerror=alert(1)> {uuid.uuid4().hex[:6]}"
    create(session, base, hostile)
    p = page.page
    dialogs = []
    p.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    p.goto(stack_up.url(host=f"todo.{stack_up.domain}"), wait_until="networkidle")
    shown = p.locator(".item .title", has_text=hostile)
    shown.wait_for()
    assert shown.inner_text() == hostile, f"title rendered as {shown.inner_text()!r}"
    assert p.locator(".item img").count() == 0, "the title became an <img> element"
    assert not dialogs, f"script ran: {dialogs}"


def test_store_refuses_clients_without_the_password(docker_api, stack_up):
    """From inside the store's own network namespace (so no network rule helps)."""
    script = """
import json, pymongo
out = {}
for name, uri in {"anonymous": "mongodb://127.0.0.1:27017/",
                  "wrong password": "mongodb://todo:wrong@127.0.0.1:27017/todo?authMechanism=SCRAM-SHA-256"}.items():
    try:
        pymongo.MongoClient(uri, serverSelectionTimeoutMS=3000).todo.todos.find_one()
        out[name] = "read allowed"
    except pymongo.errors.OperationFailure as exc:
        out[name] = exc.code
print(json.dumps(out))
"""
    output = run_once(docker_api, f"todo:{compose.IMAGE_TAG}", ["-c", script],
                      entrypoint="python3", network_mode="container:mongodb")
    result = json.loads(output.decode().strip().splitlines()[-1])
    assert result == {"anonymous": 13, "wrong password": 18}, f"the store answered: {result}"
