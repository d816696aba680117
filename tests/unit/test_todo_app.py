"""The todo app's own logic (validation, accounts, sessions, ownership, rate
limits), through Flask's test client, on an in-memory store.

The store is a stand-in implementing exactly the pymongo calls the app makes
(no FerretDB can run in a unit test); tests/e2e/test_todo.py runs the same
contract against the real store through nginx.
"""

from __future__ import annotations

import copy
import itertools
import sys
from types import SimpleNamespace

import pytest

from inception.settings import ROOT

sys.path.insert(0, str(ROOT / "srcs" / "requirements" / "todo" / "app"))

from pymongo import ReturnDocument  # noqa: E402
from pymongo.errors import DuplicateKeyError  # noqa: E402

from todo import app as todo_app  # noqa: E402
from todo import passwords, store  # noqa: E402

KEY = b"k" * 32
PASSWORD = "correct horse battery"


# --- the in-memory store ---------------------------------------------------

def matches(doc: dict, query: dict) -> bool:
    for field, wanted in query.items():
        if isinstance(wanted, dict):
            for op, value in wanted.items():
                if op == "$exists" and (field in doc) != value:
                    return False
                if op == "$lt" and not (field in doc and doc[field] < value):
                    return False
                if op not in ("$exists", "$lt"):
                    raise NotImplementedError(op)
        elif doc.get(field) != wanted:
            return False
    return True


def apply(doc: dict, update: dict, inserting: bool) -> None:
    for op, fields in update.items():
        for field, value in fields.items():
            if op == "$set" or (op == "$setOnInsert" and inserting):
                doc[field] = value
            elif op == "$inc":
                doc[field] = doc.get(field, 0) + value
            elif op != "$setOnInsert":
                raise NotImplementedError(op)


class Cursor(list):
    def sort(self, keys):
        for field, direction in reversed(keys):
            super().sort(key=lambda doc: doc[field], reverse=direction < 0)
        return self


class Collection:
    def __init__(self):
        self.docs: dict = {}

    def _find(self, query):
        return [doc for doc in self.docs.values() if matches(doc, query)]

    def find(self, query):
        return Cursor(copy.deepcopy(doc) for doc in self._find(query))

    def find_one(self, query):
        found = self._find(query)
        return copy.deepcopy(found[0]) if found else None

    def insert_one(self, doc):
        if doc["_id"] in self.docs:
            raise DuplicateKeyError("E11000 duplicate key")
        self.docs[doc["_id"]] = copy.deepcopy(doc)

    def count_documents(self, query):
        return len(self._find(query))

    def insert_many(self, docs):
        for doc in docs:
            self.insert_one(doc)

    def update_one(self, query, update, upsert=False):
        found = self._find(query)
        if found:
            apply(found[0], update, inserting=False)
        elif upsert:
            doc = {k: v for k, v in query.items() if not isinstance(v, dict)}
            apply(doc, update, inserting=True)
            self.insert_one(doc)
        return SimpleNamespace(modified_count=len(found[:1]))

    def update_many(self, query, update):
        found = self._find(query)
        for doc in found:
            apply(doc, update, inserting=False)
        return SimpleNamespace(modified_count=len(found))

    def find_one_and_update(self, query, update, upsert=False, return_document=ReturnDocument.BEFORE):
        assert return_document is ReturnDocument.AFTER, "the app always asks for the document after the update"
        found = self._find(query)
        if not found and not upsert:
            return None
        self.update_one(query, update, upsert=upsert)
        return self.find_one({"_id": found[0]["_id"] if found else query["_id"]})

    def delete_one(self, query):
        found = self._find(query)[:1]
        for doc in found:
            del self.docs[doc["_id"]]
        return SimpleNamespace(deleted_count=len(found))

    def delete_many(self, query):
        found = self._find(query)
        for doc in found:
            del self.docs[doc["_id"]]
        return SimpleNamespace(deleted_count=len(found))


class Database(dict):
    def __missing__(self, name):
        self[name] = Collection()
        return self[name]

    def command(self, name):
        assert name == "ping"
        return {"ok": 1}


# --- fixtures ----------------------------------------------------------------

@pytest.fixture(autouse=True)
def cheap_hashes(monkeypatch):
    """Real scrypt, cheaper parameters: the code path is the same, the suite stays fast."""
    monkeypatch.setattr(passwords, "N", 2**8)
    monkeypatch.setattr(passwords, "DUMMY_HASH", passwords.hash_password("dummy password"))


class Clock:
    def __init__(self):
        self.now = 1_800_000_000.0

    def __call__(self):
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def db():
    return Database()


@pytest.fixture
def app(db, clock):
    return todo_app.create_app(db=db, session_key=KEY, clock=clock)


_addresses = itertools.count(1)


def client_for(app, address=None):
    """A browser: its own cookie jar, its own address (as nginx forwards it)."""
    client = app.test_client()
    client.environ_base["HTTP_X_FORWARDED_FOR"] = address or f"198.51.100.{next(_addresses)}"
    return client


def signed_up(app, username, password=PASSWORD, address=None):
    client = client_for(app, address)
    r = client.post("/api/auth/register", json={"username": username, "password": password})
    assert r.status_code == 201, f"register {username}: {r.status_code} {r.get_json()}"
    return client


@pytest.fixture
def alice(app):
    return signed_up(app, "alice")


@pytest.fixture
def bob(app):
    return signed_up(app, "bob")


def assert_error(r, status, what):
    assert r.status_code == status, f"{what}: expected {status}, got {r.status_code}: {r.get_data(as_text=True)[:200]}"
    body = r.get_json()
    assert isinstance(body, dict) and body.get("error"), f"{what}: no JSON error: {r.get_data(as_text=True)[:200]}"


def login(client, username, password=PASSWORD):
    return client.post("/api/auth/login", json={"username": username, "password": password})


# --- accounts ----------------------------------------------------------------

def test_register_signs_in_and_me_names_the_user(app):
    client = signed_up(app, "Alice.Smith")
    r = client.get("/api/auth/me")
    assert r.status_code == 200 and r.get_json() == {"username": "alice.smith"}, r.get_json()


def test_me_without_a_session_is_401(app):
    assert_error(client_for(app).get("/api/auth/me"), 401, "me, signed out")


def test_register_a_taken_name_is_409_whatever_the_case(app, alice):
    r = client_for(app).post("/api/auth/register", json={"username": "ALICE", "password": PASSWORD})
    assert_error(r, 409, "ALICE after alice")


@pytest.mark.parametrize("username", ["ab", "a" * 33, "with space", "semi;colon", "-dash-first", ".dot",
                                      "émile", "tab\there", "nul\x00name", "\ud800abc", "line\u2028sep"])
def test_register_refuses_bad_usernames(app, username):
    r = client_for(app).post("/api/auth/register", json={"username": username, "password": PASSWORD})
    assert_error(r, 422, f"username {username!r}")


@pytest.mark.parametrize("username", ["abc", "a" * 32, "user_1.x-y", "007"])
def test_register_accepts_good_usernames(app, username):
    signed_up(app, username)


@pytest.mark.parametrize("password", ["", "x" * 9, "\ud800" * 12, "y" * 1025])
def test_register_refuses_bad_passwords(app, password):
    r = client_for(app).post("/api/auth/register", json={"username": "carol", "password": password})
    assert_error(r, 422, f"password of {len(password)} characters")


@pytest.mark.parametrize("body", [{"username": "carol"}, {"password": PASSWORD},
                                  {"username": 1, "password": PASSWORD}, {"username": "carol", "password": None},
                                  {"username": "carol", "password": PASSWORD, "admin": True}])
def test_register_refuses_malformed_bodies(app, body):
    assert_error(client_for(app).post("/api/auth/register", json=body), 422, f"body {body}")


def test_password_is_stored_as_an_scrypt_hash(app, db, alice):
    stored = db["users"].find_one({"_id": "alice"})["password"]
    assert stored.startswith("scrypt$") and PASSWORD not in stored, stored


def test_login_logout_and_the_session_ends(app, alice):
    client = client_for(app)
    r = login(client, "Alice")
    assert r.status_code == 200 and r.get_json() == {"username": "alice"}, r.get_json()
    assert client.get("/api/todos").status_code == 200
    assert client.post("/api/auth/logout").status_code == 204
    assert_error(client.get("/api/todos"), 401, "todos after logout")
    assert_error(client.get("/api/auth/me"), 401, "me after logout")


def test_logout_revokes_the_session_on_the_server_not_only_in_the_browser(app, alice):
    """A copy of the cookie taken before sign-out must not work after it."""
    stolen = alice.get_cookie(todo_app.COOKIE).value
    assert alice.post("/api/auth/logout").status_code == 204
    replay = client_for(app)
    replay.set_cookie(todo_app.COOKIE, stolen)
    assert_error(replay.get("/api/todos"), 401, "replayed cookie after logout")


def test_login_sets_a_secure_httponly_strict_cookie(app, alice):
    r = login(client_for(app), "alice")
    cookie = r.headers["Set-Cookie"]
    for flag in ("Secure", "HttpOnly", "SameSite=Strict", "Path=/"):
        assert flag in cookie, f"{flag} missing from {cookie}"
    assert cookie.startswith("__Host-"), cookie


def test_wrong_password_and_unknown_user_get_the_same_answer(app, alice):
    wrong = login(client_for(app), "alice", "not the password")
    unknown = login(client_for(app), "nobody-here", "not the password")
    malformed_name = login(client_for(app), "no such/name", "not the password")
    assert_error(wrong, 401, "wrong password")
    assert wrong.get_json() == unknown.get_json() == malformed_name.get_json(), (
        wrong.get_json(), unknown.get_json(), malformed_name.get_json())


def test_unknown_user_costs_a_password_hash(app, monkeypatch):
    """No account discovery by timing: an unknown name is checked against a dummy hash."""
    calls = []
    real = passwords.verify
    monkeypatch.setattr(passwords, "verify", lambda pw, stored: calls.append(stored) or real(pw, stored))
    assert_error(login(client_for(app), "nobody-here", "whatever pass"), 401, "unknown user")
    assert calls == [passwords.DUMMY_HASH], f"verify was called with {calls}"


def test_forged_or_tampered_cookies_are_refused(app, alice):
    value = alice.get_cookie(todo_app.COOKIE).value
    token, signature = value.split(".")
    altered = token[:-1] + ("B" if token.endswith("A") else "A")
    for forged in (f"{token}.{'0' * 64}", f"{altered}.{signature}", token, "garbage"):
        client = client_for(app)
        client.set_cookie(todo_app.COOKIE, forged)
        assert_error(client.get("/api/todos"), 401, f"cookie {forged[:20]}...")


def test_a_session_cookie_signed_with_another_key_is_refused(db, clock, alice):
    other = todo_app.create_app(db=db, session_key=b"another key, 32 bytes long......", clock=clock)
    client = client_for(other)
    client.set_cookie(todo_app.COOKIE, alice.get_cookie(todo_app.COOKIE).value)
    assert_error(client.get("/api/todos"), 401, "cookie under another key")


def test_sessions_expire(app, clock, alice):
    clock.now += todo_app.SESSION_SECONDS + 1
    assert_error(alice.get("/api/todos"), 401, "todos after the session's lifetime")


def test_store_keeps_a_hash_of_the_session_token(db, alice):
    token = alice.get_cookie(todo_app.COOKIE).value.split(".")[0]
    ids = list(db["sessions"].docs)
    assert ids and token not in ids, "the store holds the cookie's token itself"


# --- rate limits -------------------------------------------------------------

def test_account_limit_refuses_even_the_right_password(app, clock, alice):
    for n in range(todo_app.ACCOUNT_LIMIT):
        # A new address each time: only the account's limit can apply.
        assert_error(login(client_for(app), "alice", f"wrong {n} password"), 401, f"attempt {n + 1}")
    r = login(client_for(app), "alice")
    assert_error(r, 429, "right password after the account's limit")
    assert 0 < int(r.headers["Retry-After"]) <= todo_app.ACCOUNT_WINDOW, r.headers
    assert login(client_for(app), "bob-is-not-limited", "whatever pass").status_code == 401, "limit leaked"
    clock.now += todo_app.ACCOUNT_WINDOW
    assert login(client_for(app), "alice").status_code == 200, "the account stayed locked after the window"


def test_address_limit_spans_accounts(app, clock, alice):
    address = "203.0.113.7"
    for n in range(todo_app.ADDRESS_LIMIT):
        assert_error(login(client_for(app, address), f"user{n:03}", "wrong password"), 401, f"attempt {n + 1}")
    r = login(client_for(app, address), "alice")
    assert_error(r, 429, "right password from a limited address")
    assert 0 < int(r.headers["Retry-After"]) <= todo_app.ADDRESS_WINDOW, r.headers
    assert login(client_for(app), "alice").status_code == 200, "another address was limited too"
    clock.now += todo_app.ADDRESS_WINDOW
    assert login(client_for(app, address), "alice").status_code == 200, "the address stayed limited"


def test_successful_logins_do_not_use_up_the_address_limit(app, alice):
    address = "203.0.113.9"
    for _ in range(todo_app.ADDRESS_LIMIT + 3):
        assert login(client_for(app, address), "alice").status_code == 200


def test_address_comes_from_the_last_forwarded_entry(app, alice):
    """nginx replaces X-Forwarded-For; were a client value ever kept in front,
    rotating it must not escape the limit."""
    for n in range(todo_app.ADDRESS_LIMIT):
        client = client_for(app, f"10.9.{n}.1, 203.0.113.50")
        login(client, f"user{n:03}", "wrong password")
    assert_error(login(client_for(app, "10.0.0.1, 203.0.113.50"), "alice"), 429, "rotated first entry")


# --- todos and ownership -----------------------------------------------------

@pytest.mark.parametrize("method, path", [("GET", "/api/todos"), ("POST", "/api/todos"),
                                          ("GET", f"/api/todos/{'a' * 24}"), ("PATCH", f"/api/todos/{'a' * 24}"),
                                          ("DELETE", f"/api/todos/{'a' * 24}")])
def test_every_todo_route_needs_a_session(app, method, path):
    assert_error(client_for(app).open(path, method=method, json={"title": "x"}), 401, f"{method} {path}")


def test_todos_are_private_to_their_owner(app, alice, bob):
    item = alice.post("/api/todos", json={"title": "Alice's"}).get_json()
    url = f"/api/todos/{item['id']}"
    assert bob.get("/api/todos").get_json() == [], "bob sees alice's list"
    assert_error(bob.get(url), 404, "bob GET")
    assert_error(bob.patch(url, json={"done": True}), 404, "bob PATCH")
    assert_error(bob.delete(url), 404, "bob DELETE")
    assert alice.get(url).get_json() == item, "alice's todo changed under bob's requests"
    assert [t["id"] for t in alice.get("/api/todos").get_json()] == [item["id"]]


def test_item_shape_has_no_owner_field(app, alice):
    item = alice.post("/api/todos", json={"title": "shape"}).get_json()
    assert set(item) == {"id", "title", "done", "created_at", "updated_at"}, item


def test_crud_for_the_owner(app, alice):
    r = alice.post("/api/todos", json={"title": "  Buy milk  "})
    assert r.status_code == 201 and r.headers["Location"] == f"/api/todos/{r.get_json()['id']}"
    url = r.headers["Location"]
    assert alice.patch(url, json={"done": True}).get_json()["done"] is True
    assert alice.patch(url, json={"title": "Oat milk"}).get_json()["title"] == "Oat milk"
    assert alice.delete(url).status_code == 204
    assert_error(alice.get(url), 404, "after delete")


@pytest.mark.parametrize("title", ["\ud800", "a\udc00b", "nul\x00", "bell\x07", "tab\tinside", "new\nline",
                                   "esc\x1b[31m", "c1\x85", "del\x7f", "sep\u2029x", "trailing newline\n"])
def test_titles_with_surrogates_or_control_characters_are_422(app, db, alice, title):
    assert_error(alice.post("/api/todos", json={"title": title}), 422, f"title {title!r}")
    item = alice.post("/api/todos", json={"title": "fine"}).get_json()
    assert_error(alice.patch(f"/api/todos/{item['id']}", json={"title": title}), 422, f"patched title {title!r}")
    assert [doc["title"] for doc in db["todos"].docs.values()] == ["fine"], "a refused title was stored"


def test_raw_json_lone_surrogate_is_422_not_500(app, alice):
    """The exact bytes a client sends: JSON's \\ud800 escape."""
    r = alice.post("/api/todos", data=b'{"title": "\\ud800"}', content_type="application/json")
    assert_error(r, 422, "raw \\ud800")
    r = alice.post("/api/todos", data=b'{"\\ud800": 1}', content_type="application/json")
    assert_error(r, 422, "surrogate as a field name")


@pytest.mark.parametrize("title", ["Café ☕", "emoji 👩‍💻 with ZWJ", "日本語", "z" * 200])
def test_ordinary_unicode_titles_are_kept(app, alice, title):
    r = alice.post("/api/todos", json={"title": title})
    assert r.status_code == 201 and r.get_json()["title"] == title, r.get_json()


@pytest.mark.parametrize("path", ["/api/todos", "/api/auth/login", "/api/auth/register"])
def test_state_changes_refuse_non_json_bodies(app, alice, path):
    for content_type in ("application/x-www-form-urlencoded", "text/plain", "multipart/form-data; boundary=x"):
        r = alice.post(path, data=b"title=x", content_type=content_type)
        assert_error(r, 415, f"{path} as {content_type}")


def test_logout_refuses_a_form_body(app, alice):
    r = alice.post("/api/auth/logout", data=b"a=b", content_type="application/x-www-form-urlencoded")
    assert_error(r, 415, "logout with a form body")
    assert alice.get("/api/auth/me").status_code == 200, "the form post signed the user out"


def test_requests_from_another_origin_are_refused(app, alice, monkeypatch):
    """A sibling subdomain is the same site: SameSite does not stop it, the
    Origin check does; so are plain http and another port of the same host."""
    monkeypatch.setattr(todo_app, "PUBLIC_PORT", 8443)
    for origin in ("https://evil.example", "https://adminer.root.42.fr", "null", "http://localhost:8443",
                   "http://localhost", "https://localhost:1234", "file://localhost", "https://localhost:99999",
                   "https://localhost.evil.example:8443"):
        r = alice.post("/api/todos", json={"title": "x"}, headers={"Origin": origin})
        assert_error(r, 403, f"POST from {origin}")
        assert_error(alice.post("/api/auth/logout", headers={"Origin": origin}), 403, f"logout from {origin}")
    # The test client's host is localhost; the page is on the published port,
    # or on 443 when a router forwards it there.
    for origin in ("https://localhost:8443", "https://localhost"):
        same = alice.post("/api/todos", json={"title": "x"}, headers={"Origin": origin})
        assert same.status_code == 201, f"same-origin POST from {origin}: {same.status_code}"


def test_deeply_nested_json_is_a_400_not_a_500(app, alice):
    body = b"[" * 16000  # under BODY_MAX: the parser, not the size limit, must refuse it
    for client, path in ((alice, "/api/todos"), (client_for(app), "/api/auth/login"),
                         (client_for(app), "/api/auth/register")):
        assert_error(client.post(path, data=body, content_type="application/json"), 400, f"deep nesting on {path}")


def test_new_accounts_per_address_are_limited(app, clock):
    address = "192.0.2.77"
    for n in range(todo_app.REGISTER_LIMIT):
        signed_up(app, f"mass-{n}", address=address)
    r = client_for(app, address).post("/api/auth/register", json={"username": "one-more", "password": PASSWORD})
    assert_error(r, 429, "a sign-up over the address's limit")
    assert r.headers.get("Retry-After", "").isdigit(), "no Retry-After on the 429"
    signed_up(app, "from-elsewhere", address="192.0.2.78")
    clock.now += todo_app.REGISTER_WINDOW
    signed_up(app, "one-more", address=address)


def test_a_busy_hasher_turns_requests_away_with_a_json_503(app, alice, monkeypatch):
    monkeypatch.setattr(passwords, "SLOT_WAIT", 0.05)
    for _ in range(passwords.HASHES_AT_ONCE):
        passwords._slots.acquire()
    try:
        r = login(client_for(app), "alice")
    finally:
        for _ in range(passwords.HASHES_AT_ONCE):
            passwords._slots.release()
    assert_error(r, 503, "a sign-in while every hashing slot is taken")
    assert r.headers.get("Retry-After") == "2"
    assert login(client_for(app), "alice").status_code == 200, "sign-in failed once the slots were free"


def test_a_busy_hasher_uses_up_no_sign_in_limit(app, alice, monkeypatch):
    """Turned away before any password was checked: a flood that keeps the
    hasher busy must not lock the account's owner out."""
    monkeypatch.setattr(passwords, "SLOT_WAIT", 0.01)
    address = "192.0.2.90"
    for _ in range(passwords.HASHES_AT_ONCE):
        passwords._slots.acquire()
    try:
        for _ in range(todo_app.ACCOUNT_LIMIT + 2):
            assert login(client_for(app, address), "alice", "wrong password!").status_code == 503
    finally:
        for _ in range(passwords.HASHES_AT_ONCE):
            passwords._slots.release()
    assert login(client_for(app, address), "alice").status_code == 200, "the busy spell used up the limits"


def test_api_answers_are_not_cached(app, alice):
    assert alice.get("/api/todos").headers.get("Cache-Control") == "no-store"


# --- todos from before accounts ------------------------------------------------

def test_todos_from_before_accounts_go_to_the_first_account_only(app, db):
    db["todos"].insert_one({"_id": "old1", "title": "from before", "done": False,
                            "created_at": "2026-01-01T00:00:00.000Z", "updated_at": "2026-01-01T00:00:00.000Z"})
    first = signed_up(app, "first")
    second = signed_up(app, "second")
    assert [t["title"] for t in first.get("/api/todos").get_json()] == ["from before"]
    assert second.get("/api/todos").get_json() == [], "the second account received old todos"


# --- dump and restore (todo-dump / todo-restore) -------------------------------

def test_dump_and_restore_round_trip_users_and_todos(app, db, alice):
    import io

    item = alice.post("/api/todos", json={"title": "kept"}).get_json()
    out = io.StringIO()
    assert store.dump(db, out) >= 2
    fresh = Database()
    fresh["sessions"].insert_one({"_id": "stale", "user": "alice", "expires": 0})
    counts = store.restore(fresh, io.StringIO(out.getvalue()))
    assert counts["users"] == 1 and counts["todos"] == 1, counts
    assert not fresh["sessions"].docs, "sessions survived a restore"
    restored = todo_app.create_app(db=fresh, session_key=KEY, clock=Clock())
    client = client_for(restored)
    assert login(client, "alice").status_code == 200, "the restored account cannot sign in"
    assert client.get(f"/api/todos/{item['id']}").get_json() == item


def test_restore_takes_a_dump_from_before_accounts(db):
    import io

    from bson import ObjectId, json_util

    legacy = {"_id": ObjectId(), "title": "old", "done": False, "created_at": "t", "updated_at": "t"}
    counts = store.restore(db, io.StringIO(json_util.dumps(legacy) + "\n"))
    assert counts == {"users": 0, "todos": 1, "meta": 0}, counts
    with pytest.raises(ValueError):
        store.restore(db, io.StringIO('{"neither": 1}\n'))


def test_health_pings_the_store(app):
    r = client_for(app).get("/healthz")
    assert r.status_code == 200 and r.get_json() == {"status": "ok"}


@pytest.mark.parametrize("path", ["/api/todos", "/api/auth/register", "/api/auth/login"])
def test_a_body_over_the_limit_is_413_json_and_stores_nothing(app, db, alice, path):
    client = alice if path == "/api/todos" else client_for(app)
    body = {"title": "x" * (todo_app.BODY_MAX + 1)} if path == "/api/todos" else \
        {"username": "mallory", "password": "p" * (todo_app.BODY_MAX + 1)}
    users, todos = len(db["users"].docs), len(db["todos"].docs)
    assert_error(client.post(path, json=body), 413, f"an oversized body on {path}")
    assert (len(db["users"].docs), len(db["todos"].docs)) == (users, todos), f"{path} stored an oversized body"


# --- each account's list, cached per process ----------------------------------

def test_a_list_shows_changes_made_through_another_process(db, clock):
    # Two gunicorn workers (or two replicas) are two apps on one store, each
    # with its own cache of lists.
    first = todo_app.create_app(db=db, session_key=KEY, clock=clock)
    second = todo_app.create_app(db=db, session_key=KEY, clock=clock)
    client = signed_up(first, "alice")
    other = client_for(second)
    assert login(other, "alice").status_code == 200
    assert client.get("/api/todos").get_json() == [], "a new account's list"
    item = other.post("/api/todos", json={"title": "made elsewhere"}).get_json()
    assert [t["id"] for t in client.get("/api/todos").get_json()] == [item["id"]], "a creation not seen"
    other.patch(f"/api/todos/{item['id']}", json={"done": True})
    assert client.get("/api/todos").get_json()[0]["done"] is True, "an update not seen"
    other.delete(f"/api/todos/{item['id']}")
    assert client.get("/api/todos").get_json() == [], "a deletion not seen"


def test_a_restore_replaces_the_lists_a_process_keeps(app, db, alice):
    import io

    alice.post("/api/todos", json={"title": "before the backup"})
    out = io.StringIO()
    store.dump(db, out)
    dumped = db["users"].find_one({"_id": "alice"})["todos_version"]
    alice.post("/api/todos", json={"title": "after the backup"})
    assert len(alice.get("/api/todos").get_json()) == 2
    store.restore(db, io.StringIO(out.getvalue()))
    # A list kept under the dump's own version (read while the backup was
    # being written) must not match the restored account either.
    assert db["users"].find_one({"_id": "alice"})["todos_version"] not in (dumped, None), \
        "a restored account kept the version of its dump"
    assert login(alice, "alice").status_code == 200
    assert [t["title"] for t in alice.get("/api/todos").get_json()] == ["before the backup"], \
        "the list kept from before the restore was served"


def test_a_kept_list_is_looked_at_again_after_its_time(app, db, clock, alice):
    # A change whose writer died before it gave the account a new version.
    alice.get("/api/todos")
    from bson import ObjectId

    db["todos"].insert_one({"_id": ObjectId(), "owner": "alice", "title": "unannounced", "done": False,
                            "created_at": "z", "updated_at": "z"})
    assert alice.get("/api/todos").get_json() == [], "the kept list was not used (nothing to test)"
    clock.now += todo_app.LIST_CACHE_SECONDS + 1
    assert [t["title"] for t in alice.get("/api/todos").get_json()] == ["unannounced"]


def test_the_list_cache_keeps_to_its_size(db, clock, monkeypatch):
    monkeypatch.setattr(todo_app, "LIST_CACHE_BYTES", 4000)
    app = todo_app.create_app(db=db, session_key=KEY, clock=clock)
    lists = app.extensions["todo_lists"]
    for n in range(6):
        client = signed_up(app, f"user{n}")
        for _ in range(4):
            client.post("/api/todos", json={"title": "x" * 100})
        client.get("/api/todos")
        assert lists.size == sum(len(body) + todo_app.LIST_CACHE_ENTRY_COST
                                 for _, _, body in lists.entries.values()) <= 4000, \
            f"after {n + 1} accounts: {lists.size} bytes kept (bound 4000)"
    assert 1 < len(lists.entries) < 6, f"{len(lists.entries)} lists kept"
    assert "user5" in lists.entries and "user0" not in lists.entries, "not the least recently used dropped"
    big = signed_up(app, "big")
    for _ in range(8):
        big.post("/api/todos", json={"title": "y" * 200})
    assert len(big.get("/api/todos").get_json()) == 8
    assert "big" not in lists.entries, "a list over a quarter of the room was kept"


def test_many_short_lists_keep_to_the_bound_too(clock):
    lists = todo_app.ListCache(users=None, clock=clock)
    for n in range(100_000):
        lists.put(f"user{n}", "v", b"[]\n")
    assert len(lists.entries) * (3 + todo_app.LIST_CACHE_ENTRY_COST) <= todo_app.LIST_CACHE_BYTES, \
        f"{len(lists.entries)} entries kept: their keys and versions are not counted"


def test_ids_that_are_not_24_hex_digits_are_400(alice):
    # bytes.fromhex() skips spaces: ObjectId() took these and FerretDB got a short id (503).
    for raw in ("%20%20" + "0" * 22, "0" * 22 + "%09%09", "%20" * 24, "0" * 23 + "g"):
        for method in ("get", "patch", "delete"):
            r = getattr(alice, method)(f"/api/todos/{raw}", json={"done": True})
            assert_error(r, 400, f"{method.upper()} /api/todos/{raw}")


def test_a_retried_delete_renews_the_version_a_failed_one_left(app, db, alice, monkeypatch):
    from pymongo.errors import AutoReconnect

    item = alice.post("/api/todos", json={"title": "to delete"}).get_json()
    assert len(alice.get("/api/todos").get_json()) == 1, "kept under the current version"
    users, real = db["users"], db["users"].update_one

    def store_gone(query, update, **kw):  # between the delete and its new version
        monkeypatch.setattr(users, "update_one", real)
        raise AutoReconnect("connection closed")
    monkeypatch.setattr(users, "update_one", store_gone)
    assert alice.delete(f"/api/todos/{item['id']}").status_code == 503, "the delete itself was done"
    assert alice.delete(f"/api/todos/{item['id']}").status_code == 404, "the client's retry"
    assert alice.get("/api/todos").get_json() == [], "the deleted todo is still listed"


def test_a_password_rehash_gives_the_account_a_new_list_version(app, db, alice, monkeypatch):
    # FerretDB writes a whole document back on update: a rehash whose read
    # came before a todo change would otherwise bring the old version back.
    before = db["users"].find_one({"_id": "alice"})["todos_version"]
    monkeypatch.setattr(passwords, "needs_rehash", lambda stored: True)
    assert login(alice, "alice").status_code == 200
    assert db["users"].find_one({"_id": "alice"})["todos_version"] not in (before, None)
