"""The todo app: accounts and the full API contract through nginx with two
users, the security cases, and the page in Chromium."""

import concurrent.futures
import json
import re
import statistics
import time
import uuid

import pytest

from inception import compose

from .conftest import assert_internal_only, new_session, run_once, todo_account, todo_url

LIMIT_ACCOUNT = 5    # failed sign-ins per account per 15 minutes (srcs/requirements/todo/app/todo/app.py)
LIMIT_ADDRESS = 20   # failed sign-ins per address per minute


@pytest.fixture(scope="module")
def alice(stack_up, ca_file):
    with todo_account(stack_up, ca_file, "alice") as session:
        yield session


@pytest.fixture(scope="module")
def bob(stack_up, ca_file):
    with todo_account(stack_up, ca_file, "bob") as session:
        yield session


@pytest.fixture
def todo(alice, stack_up):
    """A signed-in session and the app's base URL (the contract tests of one user)."""
    return alice, todo_url(stack_up)


@pytest.fixture
def anonymous(stack_up, ca_file):
    with new_session(ca_file) as session:
        yield session


def create(session, base, title, **extra):
    r = session.post(f"{base}/api/todos", json={"title": title, **extra}, timeout=30)
    assert r.status_code == 201, f"POST /api/todos -> {r.status_code}: {r.text[:200]}"
    return r.json()


def assert_json_error(r, status, what):
    assert r.status_code == status, f"{what}: expected {status}, got {r.status_code}: {r.text[:200]}"
    assert r.headers.get("Content-Type", "").startswith("application/json"), f"{what}: not JSON: {r.text[:100]}"
    assert isinstance(r.json().get("error"), str) and r.json()["error"], f"{what}: no error message"


def login(session, base, username, password):
    return session.post(f"{base}/api/auth/login", json={"username": username, "password": password}, timeout=60)


# --- the todo contract (one signed-in user) ------------------------------------

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
    # The exact bytes a client sends: JSON's escape for a lone UTF-16 surrogate (was a 500).
    ("lone surrogate", {"data": b'{"title": "\\ud800"}', "headers": {"Content-Type": "application/json"}}, 422),
    ("lone low surrogate", {"data": b'{"title": "a\\udc00b"}', "headers": {"Content-Type": "application/json"}}, 422),
    ("NUL", {"json": {"title": "nul\u0000byte"}}, 422),
    ("bell", {"json": {"title": "ring\u0007"}}, 422),
    ("escape sequence", {"json": {"title": "\u001b[31mred"}}, 422),
    ("newline inside", {"json": {"title": "two\nlines"}}, 422),
    ("tab inside", {"json": {"title": "tab\there"}}, 422),
    ("DEL", {"json": {"title": "del\u007f"}}, 422),
    ("C1 control", {"json": {"title": "next\u0085line"}}, 422),
    ("line separator", {"json": {"title": "a\u2028b"}}, 422),
])
def test_bad_create_input_gets_a_json_4xx(todo, case, kwargs, status):
    session, base = todo
    before = session.get(f"{base}/api/todos", timeout=30).json()
    assert_json_error(session.post(f"{base}/api/todos", timeout=30, **kwargs), status, case)
    assert session.get(f"{base}/api/todos", timeout=30).json() == before, f"{case}: something was stored"


@pytest.mark.parametrize("case, body, status", [
    ("empty change", {}, 422),
    ("title too long", {"title": "y" * 201}, 422),
    ("done not a boolean", {"done": 1}, 422),
    ("unknown field", {"id": "x"}, 422),
    ("NUL in title", {"title": "a\u0000"}, 422),
    ("control character in title", {"title": "a\u0008b"}, 422),
])
def test_bad_update_input_gets_a_json_4xx(todo, case, body, status):
    session, base = todo
    item = create(session, base, "Target of bad updates")
    assert_json_error(session.patch(f"{base}/api/todos/{item['id']}", json=body, timeout=30), status, case)
    assert session.get(f"{base}/api/todos/{item['id']}", timeout=30).json() == item, f"{case} changed the item"


def test_update_with_a_lone_surrogate_is_422(todo):
    session, base = todo
    item = create(session, base, "Target of a surrogate")
    r = session.patch(f"{base}/api/todos/{item['id']}", data=b'{"title": "\\udfff"}', timeout=30,
                      headers={"Content-Type": "application/json"})
    assert_json_error(r, 422, "PATCH with \\udfff")
    assert session.get(f"{base}/api/todos/{item['id']}", timeout=30).json() == item


@pytest.mark.parametrize("title", ["Café ☕ 日本語", "emoji 👩‍💻 (with a zero-width joiner)"])
def test_ordinary_unicode_titles_are_kept(todo, title):
    session, base = todo
    item = create(session, base, title)
    assert session.get(f"{base}/api/todos/{item['id']}", timeout=30).json()["title"] == title


@pytest.mark.parametrize("bad_id", ["abc", "not-an-object-id-at-all!", "z" * 24])
def test_invalid_id_gets_a_json_400(todo, bad_id):
    session, base = todo
    assert_json_error(session.get(f"{base}/api/todos/{bad_id}", timeout=30), 400, f"id {bad_id!r}")


def test_title_of_200_characters_is_accepted(todo):
    session, base = todo
    assert len(create(session, base, "z" * 200)["title"]) == 200


def test_health_endpoint_checks_the_database(anonymous, stack_up):
    r = anonymous.get(todo_url(stack_up, "/healthz"), timeout=30)
    assert r.status_code == 200 and r.json() == {"status": "ok"}, r.text


# --- sessions and ownership ----------------------------------------------------

ROUTES = [("GET", "/api/todos"), ("POST", "/api/todos"), ("GET", "/api/todos/{id}"),
          ("PATCH", "/api/todos/{id}"), ("DELETE", "/api/todos/{id}")]


@pytest.mark.parametrize("method, path", ROUTES)
def test_every_todo_route_needs_a_session(alice, anonymous, stack_up, method, path):
    item = create(alice, todo_url(stack_up), "Behind the session")
    url = todo_url(stack_up, path.format(id=item["id"]))
    assert_json_error(anonymous.request(method, url, json={"title": "x", "done": True}, timeout=30), 401,
                      f"{method} {path} without a session")
    anonymous.cookies.set("__Host-todo_session", "forged.0000", domain=f"todo.{stack_up.domain}")
    assert_json_error(anonymous.request(method, url, json={"title": "x"}, timeout=30), 401,
                      f"{method} {path} with a forged cookie")
    assert alice.get(todo_url(stack_up, f"/api/todos/{item['id']}"), timeout=30).json() == item, "item changed"


@pytest.mark.parametrize("method", ["GET", "PATCH", "DELETE"])
def test_another_users_todo_answers_404(alice, bob, stack_up, method):
    base = todo_url(stack_up)
    item = create(alice, base, f"Alice's private todo {uuid.uuid4().hex[:6]}")
    r = bob.request(method, f"{base}/api/todos/{item['id']}", json={"done": True}, timeout=30)
    assert_json_error(r, 404, f"bob {method} alice's todo")
    unknown = bob.request(method, f"{base}/api/todos/{'0' * 24}", json={"done": True}, timeout=30)
    assert r.json()["error"].replace(item["id"], "0" * 24) == unknown.json()["error"], (
        f"another user's id is told apart from an unknown one: {r.json()} / {unknown.json()}")
    assert alice.get(f"{base}/api/todos/{item['id']}", timeout=30).json() == item, f"bob's {method} changed it"


def test_lists_are_private(alice, bob, stack_up):
    base = todo_url(stack_up)
    mine = create(alice, base, f"Only Alice sees this {uuid.uuid4().hex[:6]}")
    theirs = create(bob, base, f"Only Bob sees this {uuid.uuid4().hex[:6]}")
    alice_ids = {t["id"] for t in alice.get(f"{base}/api/todos", timeout=30).json()}
    bob_ids = {t["id"] for t in bob.get(f"{base}/api/todos", timeout=30).json()}
    assert mine["id"] in alice_ids and theirs["id"] not in alice_ids, "Alice's list is wrong"
    assert theirs["id"] in bob_ids and mine["id"] not in bob_ids, "Bob sees Alice's todo"


def test_every_change_shows_at_once_in_lists_served_by_any_worker(stack_up, ca_file, todo_session):
    # Each gunicorn worker keeps lists (checked against a version in the
    # store): a change made through one worker must show in the next list,
    # whichever worker serves it. One connection per request spreads them.
    base = todo_url(stack_up)
    with new_session(ca_file) as reader:
        r = login(reader, base, todo_session.todo_username, todo_session.todo_password)
        assert r.status_code == 200, f"second sign-in -> {r.status_code}"
        fresh = {"Connection": "close"}

        def listed():
            r = reader.get(f"{base}/api/todos", headers=fresh, timeout=30)
            assert r.status_code == 200, f"list -> {r.status_code}"
            return {t["id"]: t for t in r.json()}

        for n in range(12):
            listed()  # kept by whichever worker served it
            item = todo_session.post(f"{base}/api/todos", json={"title": f"spread {n}"}, headers=fresh,
                                     timeout=30).json()
            assert item["id"] in listed(), f"round {n}: a created todo is missing from the next list"
            todo_session.patch(f"{base}/api/todos/{item['id']}", json={"done": True}, headers=fresh, timeout=30)
            assert listed()[item["id"]]["done"] is True, f"round {n}: an update is missing from the next list"
            todo_session.delete(f"{base}/api/todos/{item['id']}", headers=fresh, timeout=30)
            assert item["id"] not in listed(), f"round {n}: a deleted todo is still listed"


# --- accounts ----------------------------------------------------------------

def test_register_answers_201_and_signs_in(anonymous, stack_up):
    name = f"Carol-{uuid.uuid4().hex[:8]}"
    r = anonymous.post(todo_url(stack_up, "/api/auth/register"), json={"username": name, "password": "p" * 10},
                       timeout=60)
    assert r.status_code == 201 and r.json() == {"username": name.lower()}, f"{r.status_code} {r.text[:200]}"
    me = anonymous.get(todo_url(stack_up, "/api/auth/me"), timeout=30)
    assert me.status_code == 200 and me.json() == {"username": name.lower()}, me.text


def test_register_a_taken_name_is_409(alice, anonymous, stack_up):
    r = anonymous.post(todo_url(stack_up, "/api/auth/register"), timeout=60,
                       json={"username": alice.todo_username.upper(), "password": "another password"})
    assert_json_error(r, 409, "register an existing name in upper case")
    assert login(new_session(anonymous.verify), todo_url(stack_up), alice.todo_username,
                 alice.todo_password).status_code == 200, "the 409 changed the existing account"


@pytest.mark.parametrize("case, body, status", [
    ("password of 9 characters", {"username": "{name}", "password": "123456789"}, 422),
    ("name too short", {"username": "ab", "password": "long enough pass"}, 422),
    ("name with a space", {"username": "two words", "password": "long enough pass"}, 422),
    ("name with a slash", {"username": "a/b-{name}", "password": "long enough pass"}, 422),
    ("name with NUL", {"username": "nul\u0000{name}", "password": "long enough pass"}, 422),
    ("name too long", {"username": "n" * 33, "password": "long enough pass"}, 422),
    ("missing password", {"username": "{name}"}, 422),
    ("password not a string", {"username": "{name}", "password": 1234567890}, 422),
    ("unknown field", {"username": "{name}", "password": "long enough pass", "admin": True}, 422),
])
def test_register_refuses_bad_input(anonymous, stack_up, case, body, status):
    name = f"dave-{uuid.uuid4().hex[:8]}"
    body = {key: value.replace("{name}", name) if isinstance(value, str) else value for key, value in body.items()}
    assert_json_error(anonymous.post(todo_url(stack_up, "/api/auth/register"), json=body, timeout=60), status, case)


def test_register_with_a_lone_surrogate_in_the_name_is_422(anonymous, stack_up):
    r = anonymous.post(todo_url(stack_up, "/api/auth/register"), timeout=30,
                       data=b'{"username": "eve\\ud800x", "password": "long enough pass"}',
                       headers={"Content-Type": "application/json"})
    assert_json_error(r, 422, "username with \\ud800")


def test_login_sets_a_secure_httponly_samesite_cookie(alice, anonymous, stack_up):
    r = login(anonymous, todo_url(stack_up), alice.todo_username, alice.todo_password)
    assert r.status_code == 200 and r.json() == {"username": alice.todo_username}, f"{r.status_code} {r.text[:200]}"
    header = r.headers.get("Set-Cookie", "")
    name = header.split("=", 1)[0]
    attributes = {part.strip().split("=")[0].lower(): part.strip() for part in header.split(";")[1:]}
    assert name == "__Host-todo_session", f"cookie name {name!r}: the __Host- prefix binds it to this host"
    assert "secure" in attributes, f"no Secure flag: {header}"
    assert "httponly" in attributes, f"no HttpOnly flag: {header}"
    assert attributes.get("samesite", "").lower() == "samesite=strict", f"SameSite is not Strict: {header}"
    assert attributes.get("path") == "Path=/" and "domain" not in attributes, f"scope: {header}"
    assert anonymous.get(todo_url(stack_up, "/api/todos"), timeout=30).status_code == 200, "the cookie opens nothing"


def test_wrong_password_and_unknown_user_get_the_same_401(alice, anonymous, stack_up):
    base = todo_url(stack_up)
    wrong = login(anonymous, base, alice.todo_username, "not the password")
    unknown = login(anonymous, base, f"nobody-{uuid.uuid4().hex[:8]}", "not the password")
    assert_json_error(wrong, 401, "wrong password")
    assert_json_error(unknown, 401, "unknown user")
    assert wrong.json() == unknown.json(), f"the answers differ: {wrong.json()} / {unknown.json()}"
    assert "Set-Cookie" not in wrong.headers and "Set-Cookie" not in unknown.headers, "a failed login set a cookie"


def test_unknown_user_takes_as_long_as_a_wrong_password(stack_up, ca_file, anonymous):
    """No account discovery by timing: an unknown name is checked against a
    dummy hash. Without it, an unknown name answers in a few milliseconds
    against a few hundred for a real hash."""
    account = todo_account(stack_up, ca_file, "timing")
    base = todo_url(stack_up)

    def elapsed(username):
        start = time.perf_counter()
        r = login(anonymous, base, username, "wrong password!")
        assert r.status_code == 401, f"{username}: {r.status_code}"
        return time.perf_counter() - start

    # Interleaved, so that a moment of load on the machine falls on both
    # kinds. Without the dummy hash the ratio is about 1:50 (a few ms against
    # hundreds), so a quarter tells it apart with room for the noise of a
    # busy machine (a wrong password once took 1.6 s, twice its usual).
    wrong, unknown = [], []
    for _ in range(2):
        wrong.append(elapsed(account.todo_username))
        unknown.append(elapsed(f"ghost-{uuid.uuid4().hex[:8]}"))
    assert min(unknown) > 0.25 * min(wrong), (
        f"an unknown user answers faster than a wrong password: {unknown} s against {wrong} s")
    assert statistics.median(unknown) < 3 * statistics.median(wrong) + 0.2, f"{unknown} against {wrong}"


def test_me_logout_and_the_old_cookie_is_dead(stack_up, ca_file, anonymous):
    base = todo_url(stack_up)
    session = todo_account(stack_up, ca_file, "leaving")
    me = session.get(f"{base}/api/auth/me", timeout=30)
    assert me.status_code == 200 and me.json() == {"username": session.todo_username}, me.text
    cookie = session.cookies.get("__Host-todo_session")
    out = session.post(f"{base}/api/auth/logout", timeout=30)
    assert out.status_code == 204 and not out.content, f"logout -> {out.status_code} {out.text[:100]}"
    assert_json_error(session.get(f"{base}/api/auth/me", timeout=30), 401, "me after logout")
    assert_json_error(session.get(f"{base}/api/todos", timeout=30), 401, "todos after logout")
    # A copy of the cookie taken before sign-out (another tab, a thief) is dead too.
    anonymous.cookies.set("__Host-todo_session", cookie, domain=f"todo.{stack_up.domain}")
    assert_json_error(anonymous.get(f"{base}/api/todos", timeout=30), 401, "the old cookie after logout")
    assert_json_error(anonymous.get(f"{base}/api/auth/me", timeout=30), 401, "me without a session")


@pytest.mark.parametrize("path", ["/api/auth/register", "/api/auth/login", "/api/todos"])
@pytest.mark.parametrize("content_type", ["application/x-www-form-urlencoded", "text/plain", "multipart/form-data"])
def test_state_changes_refuse_what_a_cross_site_form_can_send(alice, stack_up, path, content_type):
    """A form on another site can POST these types without a CORS preflight; JSON it cannot."""
    r = alice.post(todo_url(stack_up, path), data=b'{"username": "x", "password": "y", "title": "z"}',
                   headers={"Content-Type": content_type}, timeout=30)
    assert_json_error(r, 415, f"{path} as {content_type}")


def test_requests_from_another_origin_are_refused(alice, stack_up):
    base = todo_url(stack_up)
    for origin in (f"https://adminer.{stack_up.domain}", "https://evil.example"):
        r = alice.post(f"{base}/api/todos", json={"title": "cross-origin"}, headers={"Origin": origin}, timeout=30)
        assert_json_error(r, 403, f"POST from {origin}")
        r = alice.post(f"{base}/api/auth/logout", headers={"Origin": origin}, timeout=30)
        assert_json_error(r, 403, f"logout from {origin}")
    assert alice.get(f"{base}/api/auth/me", timeout=30).status_code == 200, "a cross-origin logout worked"


# --- rate limits -------------------------------------------------------------

def test_login_is_limited_per_account(stack_up, ca_file, anonymous):
    base = todo_url(stack_up)
    victim = todo_account(stack_up, ca_file, "limited")
    for n in range(LIMIT_ACCOUNT):
        assert_json_error(login(anonymous, base, victim.todo_username, f"guess number {n}"), 401, f"guess {n + 1}")
    r = login(anonymous, base, victim.todo_username, victim.todo_password)
    assert_json_error(r, 429, "the right password after the account's limit")
    assert 0 < int(r.headers.get("Retry-After", "0")) <= 15 * 60, f"Retry-After: {r.headers.get('Retry-After')}"
    # The same address can still sign in to another account: the limit was the account's.
    other = todo_account(stack_up, ca_file, "unlimited")
    assert login(anonymous, base, other.todo_username, other.todo_password).status_code == 200, (
        "another account from the same address was refused")
    # The limited account's existing session keeps working (only sign-ins are limited).
    assert victim.get(f"{base}/api/todos", timeout=30).status_code == 200


def test_a_burst_of_wrong_passwords_is_held_to_the_account_limit(stack_up, ca_file):
    """Attempts sent all at once against the real store (which does not apply
    concurrent updates of one document atomically) are each counted: no more
    than the account's limit of passwords is checked, and nothing fails."""
    base = todo_url(stack_up)
    victim = todo_account(stack_up, ca_file, "burst")

    def attempt(n):
        with new_session(ca_file) as session:
            return login(session, base, victim.todo_username, f"burst guess {n}").status_code

    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(attempt, range(16)))
    assert set(answers) <= {401, 429}, f"a burst of sign-ins got other answers: {sorted(answers)}"
    assert answers.count(401) <= LIMIT_ACCOUNT, (
        f"{answers.count(401)} wrong passwords were checked in one burst, over the account's limit of {LIMIT_ACCOUNT}")


@pytest.mark.flood
def test_login_is_limited_per_address_and_the_limit_lifts(stack_up, ca_file, anonymous):
    """Failed sign-ins spread over many names, all from this machine's
    address: refused once over the address's limit, even a right password,
    then accepted again once the window is over (so the tests after this
    one are not locked out)."""
    base = todo_url(stack_up)
    account = todo_account(stack_up, ca_file, "spray")
    refused = None
    # The window is fixed: a count started by earlier tests, or a new window
    # starting mid-way, changes how many attempts it takes, hence the margin.
    for n in range(3 * LIMIT_ADDRESS):
        r = login(anonymous, base, f"spray-{uuid.uuid4().hex[:10]}", "a wrong password")
        if r.status_code == 429:
            refused = r
            break
        assert r.status_code == 401, f"attempt {n + 1}: {r.status_code} {r.text[:100]}"
    assert refused is not None, f"{3 * LIMIT_ADDRESS} failed sign-ins from one address were never limited"
    assert_json_error(refused, 429, "over the address's limit")
    right = login(anonymous, base, account.todo_username, account.todo_password)
    assert_json_error(right, 429, "a right password from the limited address")
    wait = int(right.headers.get("Retry-After", "0"))
    assert 0 < wait <= 60, f"Retry-After: {right.headers.get('Retry-After')}"
    time.sleep(wait + 1)
    after = login(anonymous, base, account.todo_username, account.todo_password)
    assert after.status_code == 200, f"still refused after Retry-After: {after.status_code} {after.text[:100]}"


# --- isolation of the store ------------------------------------------------------

def test_document_store_is_not_reachable_from_the_host(docker_api, stack_up):
    assert_internal_only(docker_api, "mongodb", "todo-mongodb", 27017)


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
                      entrypoint="python3", network_mode=f"container:{stack_up.container_name('mongodb')}")
    result = json.loads(output.decode().strip().splitlines()[-1])
    assert result == {"anonymous": 13, "wrong password": 18}, f"the store answered: {result}"


def test_the_store_reads_by_id_through_its_index(stack_up):
    """Every request reads its session, its account and its todo by _id: the
    store must find them through the _id index, not by scanning every
    document (FerretDB 1.24 as released scans; the image carries a fix)."""
    script = ("import sys, json; sys.path.insert(0, '/opt/todo'); from todo import store; db = store.connect();"
              "print(json.dumps({name: db[name].find({'_id': 'x'}).explain()['queryPlanner']['Plan']"
              " for name in ('sessions', 'users', 'todos')}))")
    found = compose.exec_in(stack_up, "todo", ["python3", "-c", script], user="todo")
    assert found.returncode == 0, found.stderr.decode()[-500:]
    plans = json.loads(found.stdout.decode().strip().splitlines()[-1])
    for name, plan in plans.items():
        assert any("USING INDEX" in step and "_id_" in step for step in plan), \
            f"{name}: a read by _id does not use the _id index: {plan}"


def test_store_keeps_password_hashes_not_passwords(alice, stack_up):
    """What a stolen backup would hold: scrypt hashes, and no session token."""
    dump = compose.exec_in(stack_up, "todo", ["todo-dump"], user="todo")
    assert dump.returncode == 0, dump.stderr.decode()[-300:]
    text = dump.stdout.decode()
    assert alice.todo_password not in text, "a password is stored in clear"
    record = next(json.loads(line) for line in text.splitlines() if alice.todo_username in line
                  and '"users"' in line)
    assert re.fullmatch(r"scrypt\$\d+\$\d+\$\d+\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+", record["document"]["password"]), \
        record["document"]["password"]
    token = alice.cookies.get("__Host-todo_session").split(".")[0]
    assert token not in text, "a session token is in the dump"


# --- the page ----------------------------------------------------------------

def unexpected(problems):
    """The page asks /api/auth/me first: its 401 (and Chromium's console line
    for it) is how a signed-out visitor is recognised, not a fault."""
    return [p for p in problems if not ("/api/auth/me" in p and "401" in p) and "status of 401" not in p]


def sign_in_page(p, username, password, register=False):
    p.fill("#username", username)
    p.fill("#password", password)
    p.click("#auth-form button[value=register]" if register else "#auth-form button[value=login]")
    # Generous: a sign-up hashes a password (scrypt), slow on a loaded machine.
    p.locator("#whoami", has_text=username.lower()).wait_for(timeout=60000)


def test_page_signs_up_adds_completes_reloads_signs_out_and_isolates_users(page, stack_up, ca_file):
    second = todo_account(stack_up, ca_file, "second")
    p = page.page
    assert p.goto(stack_up.url(host=f"todo.{stack_up.domain}"), wait_until="networkidle").status == 200
    p.locator("#auth").wait_for()
    assert p.locator("#app").is_hidden(), "the todo list shows before signing in"
    username, password = f"Page-{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    sign_in_page(p, username, password, register=True)
    title = f"Browser todo {uuid.uuid4().hex[:6]}"
    # Keyboard only: the title field has the focus after signing up.
    p.wait_for_function("document.activeElement && document.activeElement.id === 'new-title'", timeout=30000)
    p.keyboard.type(title)
    p.keyboard.press("Enter")
    p.locator(".item", has_text=title).wait_for()
    p.locator(".item", has_text=title).locator(".toggle").check()
    p.locator(".item.done", has_text=title).wait_for()
    p.reload(wait_until="networkidle")
    p.locator(".item.done", has_text=title).wait_for()
    assert p.locator("#whoami").inner_text() == username.lower(), "the session did not survive a reload"
    page.screenshot("todo-app.png")
    p.click("#sign-out")
    p.locator("#auth").wait_for()
    assert p.locator(".item").count() == 0, "todos still shown after signing out"
    sign_in_page(p, second.todo_username, second.todo_password)
    p.wait_for_load_state("networkidle")
    assert p.locator(".item").count() == 0, "the second user sees todos that are not theirs"
    assert p.locator("#count").inner_text() == "0 of 0 left"
    p.reload(wait_until="networkidle")
    p.locator("#whoami", has_text=second.todo_username).wait_for()
    assert p.locator(".item", has_text=title).count() == 0, "the first user's todo shows for the second"
    assert not unexpected(page.problems), f"the page reported problems: {page.problems}"


def test_page_shows_sign_in_errors_in_a_live_region(page, stack_up):
    p = page.page
    p.goto(stack_up.url(host=f"todo.{stack_up.domain}"), wait_until="networkidle")
    assert p.get_attribute("#error", "role") == "alert"
    p.fill("#username", f"nobody-{uuid.uuid4().hex[:8]}")
    p.fill("#password", "wrong password")
    p.keyboard.press("Enter")
    p.locator("#error", has_text="wrong username or password").wait_for()
    assert p.locator("#username").get_attribute("aria-describedby") and p.locator("label[for=password]").count() == 1


def signed_in_context(page, session, stack_up):
    """The browser gets the session of an account made over the API."""
    page.page.context.add_cookies([{"name": "__Host-todo_session", "value": session.cookies.get("__Host-todo_session"),
                                    "url": stack_up.url(host=f"todo.{stack_up.domain}")}])


def test_page_adds_completes_and_deletes_a_todo(page, todo_session, stack_up):
    signed_in_context(page, todo_session, stack_up)
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
    assert not unexpected(page.problems), f"the page reported problems: {page.problems}"


def test_page_shows_html_in_titles_as_text(page, todo_session, stack_up):
    base = todo_url(stack_up)
    hostile = f"<img src=x onerror=alert(1)> {uuid.uuid4().hex[:6]}"
    create(todo_session, base, hostile)
    signed_in_context(page, todo_session, stack_up)
    p = page.page
    dialogs = []
    p.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    p.goto(stack_up.url(host=f"todo.{stack_up.domain}"), wait_until="networkidle")
    shown = p.locator(".item .title", has_text=hostile)
    shown.wait_for()
    assert shown.inner_text() == hostile, f"title rendered as {shown.inner_text()!r}"
    assert p.locator(".item img").count() == 0, "the title became an <img> element"
    assert not dialogs, f"script ran: {dialogs}"
