"""The todo app: accounts, a JSON API under /api/todos and the page that uses it.

Bad input always gets a 4xx JSON error naming the problem; a database that
cannot be reached gets 503; nothing a client sends produces a 500.

Each todo belongs to one account and is only ever seen by it: lists are
queried by owner and every todo read by id is checked against it, so another
account's id is indistinguishable from an unknown one (404).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import re
import secrets
import threading
import time
import unicodedata
from collections import OrderedDict
from datetime import datetime, timezone
from urllib.parse import urlsplit

from bson import ObjectId
from flask import Flask, g, jsonify, request, send_from_directory
from pymongo import ASCENDING, ReturnDocument
from pymongo.errors import DuplicateKeyError, PyMongoError
from werkzeug.exceptions import HTTPException

from . import passwords, store

TITLE_MAX = 200
BODY_MAX = 16 * 1024
TODO_FIELDS = {"title", "done"}
AUTH_FIELDS = {"username", "password"}
# Lower-cased before the check: "Alice" and "alice" are one account. Starts
# with a letter or digit so that no name looks like a path or an option.
USERNAME = re.compile(r"[a-z0-9][a-z0-9_.-]{2,31}")
PASSWORD_MIN, PASSWORD_MAX = 10, 1024

# The published HTTPS port (the port in the page's origin when it is not 443).
PUBLIC_PORT = int(os.environ.get("HTTPS_PORT", "443"))

COOKIE = "__Host-todo_session"  # __Host-: browsers insist on Secure, Path=/ and no Domain
SESSION_SECONDS = 14 * 24 * 3600
# Sign-in limits, counted in fixed windows in the store (shared by every
# gunicorn worker, kept across restarts). An account: 5 failed attempts per
# 15 minutes (online guessing of one password). An address: 20 failed
# attempts per minute (guessing across many accounts); short, so a person
# behind a shared address who mistyped is not kept out for long.
ACCOUNT_LIMIT, ACCOUNT_WINDOW = 5, 15 * 60
ADDRESS_LIMIT, ADDRESS_WINDOW = 20, 60
# New accounts per address: each costs a password hash (0.4 s of a core and
# 32 MiB), so an unlimited sign-up would let one client keep the app busy.
REGISTER_LIMIT, REGISTER_WINDOW = 30, 60
LEGACY = "legacy_todos"
# Lists kept per process (ListCache): at most this many bytes in all (two
# workers in a 256 MB container), each for at most this long without a new
# look at the store's todos.
LIST_CACHE_BYTES, LIST_CACHE_SECONDS = 8 * 1024 * 1024, 30
# What an entry costs besides its body (key, version, tuple, expiry, the
# OrderedDict's node: about 330 bytes measured), counted against the bound so
# that many accounts with short lists cannot grow a worker without limit.
LIST_CACHE_ENTRY_COST = 512
TODO_ID = re.compile(r"[0-9a-fA-F]{24}")

log = logging.getLogger("todo")


class BadInput(Exception):
    """A client error: status code and message for the JSON answer."""

    def __init__(self, status: int, message: str, headers: dict | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def public(doc: dict) -> dict:
    return {"id": str(doc["_id"]), "title": doc["title"], "done": doc["done"],
            "created_at": doc["created_at"], "updated_at": doc["updated_at"]}


def object_id(raw: str) -> ObjectId:
    # Checked here, not left to ObjectId(): it takes any 24 characters that
    # bytes.fromhex() accepts, spaces included ("  " + 22 hex digits), and
    # makes an 11-byte id whose BSON FerretDB refuses by closing the
    # connection (a 503, and pymongo pauses the pool for every request).
    if not TODO_ID.fullmatch(raw):
        raise BadInput(400, f"invalid todo id {raw[:40]!r}: expected 24 hexadecimal characters")
    return ObjectId(raw)


def json_body(fields: set[str]) -> dict:
    if not request.is_json:
        raise BadInput(415, "send the body as JSON (Content-Type: application/json)")
    # Checked here, not left to MAX_CONTENT_LENGTH alone: Werkzeug before 2.3
    # (bookworm's) lets get_json(silent=True) turn a too-large body into None.
    if (request.content_length or 0) > BODY_MAX:
        raise BadInput(413, f"the body is larger than {BODY_MAX} bytes")
    try:
        data = request.get_json(silent=True)
    except RecursionError:
        # Deep nesting ([[[[...) exhausts the parser's stack; silent=True only
        # covers ValueError.
        data = None
    if data is None:
        raise BadInput(400, "the body is not valid JSON")
    if not isinstance(data, dict):
        raise BadInput(400, "the body must be a JSON object, e.g. {\"title\": \"Buy milk\"}")
    unknown = sorted(set(data) - fields)
    if unknown:
        # ascii(): a field name may hold anything, even a lone surrogate.
        raise BadInput(422, f"unknown field(s): {ascii(unknown)[1:-1]}; allowed: {', '.join(sorted(fields))}")
    return data


def check_text(value: str, what: str) -> None:
    """Refuse what cannot be stored or shown safely: lone UTF-16 surrogates
    (JSON "\\ud800" decodes to one; it has no UTF-8 form, the store would
    fail) and control characters (NUL, tabs, newlines, escapes, C1 controls,
    line and paragraph separators), anywhere in the value."""
    for char in value:
        category = unicodedata.category(char)
        if category == "Cs":
            raise BadInput(422, f"{what} holds an unpaired UTF-16 surrogate (U+{ord(char):04X}): not valid text")
        if category in ("Cc", "Zl", "Zp"):
            raise BadInput(422, f"{what} must not contain control characters (found U+{ord(char):04X})")


def clean_title(value) -> str:
    if not isinstance(value, str):
        raise BadInput(422, "title must be a string")
    check_text(value, "title")
    title = value.strip()
    if not 1 <= len(title) <= TITLE_MAX:
        raise BadInput(422, f"title must be 1 to {TITLE_MAX} characters after trimming (got {len(title)})")
    return title


def clean_done(value) -> bool:
    if not isinstance(value, bool):
        raise BadInput(422, "done must be true or false")
    return value


def credentials() -> tuple[str, str]:
    """The body of register and login: both fields, strings, valid text."""
    data = json_body(AUTH_FIELDS)
    missing = sorted(AUTH_FIELDS - set(data))
    if missing:
        raise BadInput(422, f"missing field(s): {', '.join(missing)}")
    username, password = data["username"], data["password"]
    if not isinstance(username, str) or not isinstance(password, str):
        raise BadInput(422, "username and password must be strings")
    check_text(username, "username")
    if any(unicodedata.category(char) == "Cs" for char in password):
        raise BadInput(422, "password holds an unpaired UTF-16 surrogate: not valid text")
    if len(password) > PASSWORD_MAX:
        raise BadInput(422, f"password must be at most {PASSWORD_MAX} characters")
    return username.lower(), password


def client_address() -> str:
    """The client's address as nginx saw it: nginx sets X-Forwarded-For to
    $remote_addr (replacing whatever the client sent), and only nginx reaches
    this app. The last entry is the one the nearest proxy added."""
    forwarded = request.headers.get("X-Forwarded-For", "")
    last = forwarded.rsplit(",", 1)[-1].strip()
    return last or request.remote_addr or "unknown"


def same_origin() -> bool:
    """A browser names the page's origin on every state-changing fetch; a
    request from any other origin (a sibling subdomain is "same site", so
    SameSite cookies do not stop it; nor does plain http or another port of
    this host in every browser) is refused. Clients that are not browsers
    send no Origin."""
    origin = request.headers.get("Origin")
    if origin is None:
        return True
    try:
        url = urlsplit(origin)
        port = url.port
    except ValueError:
        return False
    # nginx passes Host without the port. The page is on HTTPS_PORT, or on
    # 443 when a router forwards the public 443 there.
    return (url.scheme == "https" and url.hostname == urlsplit(f"//{request.host}").hostname
            and port in (None, 443, PUBLIC_PORT))


def configure_log() -> None:
    if not log.handlers:
        # Account events (created, failed or refused sign-ins; never a password)
        # go to the container's log.
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s [todo] %(levelname)s: %(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)


# --- sessions ---------------------------------------------------------------

class Sessions:
    """Session cookies: a random token and its HMAC; the store maps the token
    to an account until it expires."""

    def __init__(self, key: bytes, collection, clock):
        self.key, self.collection, self.clock = key, collection, clock

    def sign(self, token: str) -> str:
        return hmac.new(self.key, token.encode(), hashlib.sha256).hexdigest()

    @staticmethod
    def token_id(token: str) -> str:
        # The store keeps a hash: a copy of the sessions collection opens no session.
        return hashlib.sha256(token.encode()).hexdigest()

    def current_user(self) -> str | None:
        if "user" in g:
            return g.user
        g.user = None
        value = request.cookies.get(COOKIE, "")
        token, _, signature = value.partition(".")
        # Forged or stale-key cookies stop here, before any database work.
        if token and hmac.compare_digest(self.sign(token), signature):
            doc = self.collection.find_one({"_id": self.token_id(token)})
            if doc and doc["expires"] > self.clock():
                g.user = doc["user"]
        return g.user

    def require_user(self) -> str:
        user = self.current_user()
        if user is None:
            raise BadInput(401, "sign in first (POST /api/auth/login)")
        return user

    def start(self, response, user: str):
        token = secrets.token_urlsafe(32)
        expires = self.clock() + SESSION_SECONDS
        self.collection.insert_one({"_id": self.token_id(token), "user": user, "expires": expires})
        # Strict: the cookie never rides on a request started by another site,
        # not even a link; this page loads without it and every API call is
        # same-site, so Strict costs the user nothing here.
        response.set_cookie(COOKIE, f"{token}.{self.sign(token)}", max_age=SESSION_SECONDS, path="/",
                            secure=True, httponly=True, samesite="Strict")
        return response

    def end(self, response):
        token = request.cookies.get(COOKIE, "").partition(".")[0]
        if token:
            self.collection.delete_one({"_id": self.token_id(token)})
        response.delete_cookie(COOKIE, path="/", secure=True, httponly=True, samesite="Strict")
        return response

    def delete_expired(self) -> None:
        self.collection.delete_many({"expires": {"$lt": self.clock()}})


# --- sign-in rate limits ----------------------------------------------------

class Throttle:
    """The sign-in and sign-up limits (ACCOUNT_*, ADDRESS_*, REGISTER_* above):
    one document per attempt, counted per bucket and window.

    Not a counter updated in place: the store (FerretDB on SQLite) does not
    apply concurrent $inc or upserts atomically, and a burst of parallel
    attempts got past a counter. An insert is atomic, and an attempt counted
    after its own insert sees every attempt inserted before it, so at most
    `limit` attempts of a window see a count within the limit (fewer when
    parallel attempts all write before any counts: it errs on the safe side).
    A successful sign-in takes its own attempts back (forgive)."""

    def __init__(self, collection, clock):
        self.collection, self.clock = collection, clock
        self.indexed = False

    def over_limit(self, bucket: str, limit: int, window: int) -> int:
        """Count this attempt; the seconds to wait when it is over the limit, else 0.
        Counted before the password is checked."""
        if not self.indexed and hasattr(self.collection, "create_index"):
            self.collection.create_index([("bucket", ASCENDING), ("slot", ASCENDING)])
            self.indexed = True
        moment = self.clock()
        slot = int(moment // window)
        attempt = ObjectId()
        self.collection.insert_one({"_id": attempt, "bucket": bucket, "slot": slot, "expires": (slot + 1) * window})
        if self.collection.count_documents({"bucket": bucket, "slot": slot}) > limit:
            # Over the limit already: this attempt need not be kept; the
            # attempts that made the count stay until they expire or are forgiven.
            self.collection.delete_one({"_id": attempt})
            return max(1, int((slot + 1) * window - moment + 0.999))
        return 0

    def forgive(self, bucket: str, window: int, everything: bool):
        query = {"bucket": bucket, "slot": int(self.clock() // window)}
        if everything:
            self.collection.delete_many(query)
        else:
            self.collection.delete_one(query)

    def admit(self, username: str, address: str) -> None:
        """Count a sign-in attempt; 429 when the address or the account is over its limit."""
        wait = self.over_limit(f"addr:{address}", ADDRESS_LIMIT, ADDRESS_WINDOW)
        if not wait:
            wait = self.over_limit(f"user:{username}", ACCOUNT_LIMIT, ACCOUNT_WINDOW)
            if wait:
                # Refused before any password check: it tells and costs nothing,
                # so it does not count against the address.
                self.forgive(f"addr:{address}", ADDRESS_WINDOW, everything=False)
        if wait:
            log.warning("sign-in refused by the rate limit: account %r from %s", username[:40], address)
            raise BadInput(429, f"too many sign-in attempts; try again in {wait} s", {"Retry-After": str(wait)})

    def admit_registration(self, address: str) -> None:
        """Count a new account's password hash; 429 when the address is over its limit."""
        wait = self.over_limit(f"register:{address}", REGISTER_LIMIT, REGISTER_WINDOW)
        if wait:
            log.warning("sign-up refused by the rate limit: from %s", address)
            raise BadInput(429, f"too many new accounts from your address; try again in {wait} s",
                           {"Retry-After": str(wait)})

    def signed_in(self, username: str, address: str) -> None:
        self.forgive(f"addr:{address}", ADDRESS_WINDOW, everything=False)
        self.forgive(f"user:{username}", ACCOUNT_WINDOW, everything=True)

    def delete_expired(self) -> None:
        self.collection.delete_many({"expires": {"$lt": self.clock()}})


# --- each account's list, cached per process -------------------------------

class ListCache:
    """Each account's list as sent (JSON bytes), kept by each process while
    the account's `todos_version` in the store stays the same.

    FerretDB on SQLite reads a document through an index only for a filter
    that is exactly {_id: ...}; any other filter, such as {owner: ...},
    decodes every todo of every account. With the cache a list costs two
    reads by _id (the session, the account) instead of a scan.

    Every change to an account's todos writes a new version after the change
    (changed()), and a list is read after its version: an entry is never
    older than the version it is filed under. Entries also go after
    LIST_CACHE_SECONDS, which bounds what a process that died (or a store
    that failed) between a change and its new version could leave stale.

    A version must never come back: FerretDB applies an update by reading the
    document and writing it whole, so any other $set on a users document
    (the password's rehash) would write back the version it read. Such
    updates set a new version as well (new_version())."""

    def __init__(self, users, clock):
        self.users, self.clock = users, clock
        self.entries: OrderedDict[str, tuple[str, float, bytes]] = OrderedDict()
        self.size = 0
        self.lock = threading.Lock()

    @staticmethod
    def new_version() -> str:
        return str(ObjectId())

    def version(self, owner: str) -> str | None:
        account = self.users.find_one({"_id": owner})
        return account.get("todos_version") if account else None

    def get(self, owner: str, version: str | None) -> bytes | None:
        with self.lock:
            entry = self.entries.get(owner)
            if entry and version and entry[0] == version and entry[1] > self.clock():
                self.entries.move_to_end(owner)
                return entry[2]
        return None

    def put(self, owner: str, version: str | None, body: bytes) -> None:
        with self.lock:
            self.drop(owner)
            # An account from before versions has nothing to check an entry
            # against; a list of over a quarter of the room is not kept.
            if not version or len(body) > LIST_CACHE_BYTES // 4:
                return
            self.entries[owner] = (version, self.clock() + LIST_CACHE_SECONDS, body)
            self.size += len(body) + LIST_CACHE_ENTRY_COST
            while self.size > LIST_CACHE_BYTES:
                self.drop(next(iter(self.entries)))  # the least recently used

    def drop(self, owner: str) -> None:
        entry = self.entries.pop(owner, None)
        if entry:
            self.size -= len(entry[2]) + LIST_CACHE_ENTRY_COST

    def changed(self, owner: str) -> None:
        self.users.update_one({"_id": owner}, {"$set": {"todos_version": self.new_version()}})


# --- errors and hooks -------------------------------------------------------

def register_errors(app: Flask) -> None:
    @app.errorhandler(BadInput)
    def bad_input(error: BadInput):
        return jsonify(error=error.message), error.status, error.headers

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        messages = {413: f"the body is larger than {BODY_MAX} bytes"}
        return jsonify(error=messages.get(error.code, error.description)), error.code

    @app.errorhandler(passwords.Busy)
    def hashing_busy(error: passwords.Busy):
        log.warning("password hashing busy: a sign-in or sign-up was turned away")
        return jsonify(error="too many sign-ins at this moment; try again in a few seconds"), 503, \
            {"Retry-After": "2"}

    @app.errorhandler(PyMongoError)
    def database_error(error: PyMongoError):
        log.error("database error: %s", error)
        return jsonify(error="the database is unavailable; try again in a moment"), 503


def register_hooks(app: Flask) -> None:
    @app.before_request
    def refuse_other_origins():
        if request.method not in ("GET", "HEAD", "OPTIONS") and not same_origin():
            raise BadInput(403, "cross-origin request refused")

    @app.after_request
    def private(response):
        if request.path.startswith("/api/"):
            # Personal data: no shared or browser cache keeps a copy.
            response.headers["Cache-Control"] = "no-store"
        return response


# --- accounts ---------------------------------------------------------------

def check_new_account(username: str, password: str) -> None:
    if not USERNAME.fullmatch(username):
        raise BadInput(422, "username: 3 to 32 of a-z, 0-9, '.', '_', '-' (starting with a letter or "
                            "digit; upper case is folded to lower case)")
    if len(password) < PASSWORD_MIN:
        raise BadInput(422, f"password must be at least {PASSWORD_MIN} characters")


def claim_legacy_todos(meta, todos, lists: ListCache, username: str):
    """Todos from before accounts go to the first account ever created
    (they were visible to anyone then, so this reveals nothing). The meta
    marker makes "first" atomic: one insert succeeds, every later one fails."""
    try:
        meta.insert_one({"_id": LEGACY, "owner": username, "at": now()})
    except DuplicateKeyError:
        return
    moved = todos.update_many({"owner": {"$exists": False}}, {"$set": {"owner": username}}).modified_count
    if moved:
        lists.changed(username)
        log.info("%d todo(s) from before accounts handed to %s", moved, username)


def register_accounts(app: Flask, users, meta, todos, lists: ListCache, sessions: Sessions,
                      throttle: Throttle) -> None:
    @app.post("/api/auth/register")
    def register():
        username, password = credentials()
        check_new_account(username, password)
        if users.find_one({"_id": username}) is not None:
            raise BadInput(409, f"the username {username} is taken")
        # Only requests that will cost a password hash are counted.
        throttle.admit_registration(client_address())
        try:
            users.insert_one({"_id": username, "password": passwords.hash_password(password), "created_at": now(),
                              "todos_version": lists.new_version()})
        except DuplicateKeyError:
            raise BadInput(409, f"the username {username} is taken") from None
        claim_legacy_todos(meta, todos, lists, username)
        log.info("account created: %s", username)
        return sessions.start(jsonify(username=username), username), 201

    @app.post("/api/auth/login")
    def login():
        username, password = credentials()
        address = client_address()
        throttle.admit(username, address)
        account = users.find_one({"_id": username}) if USERNAME.fullmatch(username) else None
        try:
            # Unknown names are checked against a dummy hash: the same answer in the same time.
            ok = passwords.verify(password, account["password"] if account else passwords.DUMMY_HASH)
        except passwords.Busy:
            # No password was checked: the attempt must not use up a limit
            # (else a flood of sign-ups would lock users out).
            throttle.forgive(f"addr:{address}", ADDRESS_WINDOW, everything=False)
            throttle.forgive(f"user:{username}", ACCOUNT_WINDOW, everything=False)
            raise
        if not (ok and account):
            log.info("failed sign-in: account %r from %s", username[:40], address)
            raise BadInput(401, "wrong username or password")
        throttle.signed_in(username, address)
        if passwords.needs_rehash(account["password"]):
            try:
                # A new list version too: see ListCache.
                users.update_one({"_id": username}, {"$set": {"password": passwords.hash_password(password),
                                                              "todos_version": lists.new_version()}})
            except passwords.Busy:
                pass  # the right password was given: the rehash waits for the next sign-in
        # Expired sessions and counters go now and then; a sign-in is a fine moment.
        sessions.delete_expired()
        throttle.delete_expired()
        return sessions.start(jsonify(username=username), username), 200

    @app.post("/api/auth/logout")
    def logout():
        if request.content_length and not request.is_json:
            raise BadInput(415, "send no body, or JSON (Content-Type: application/json)")
        return sessions.end(app.response_class(status=204))

    @app.get("/api/auth/me")
    def me():
        user = sessions.current_user()
        if user is None:
            raise BadInput(401, "not signed in")
        return jsonify(username=user)


# --- todos ------------------------------------------------------------------

def new_todo(owner: str, data: dict) -> dict:
    """The document of a POST body."""
    if "title" not in data:
        raise BadInput(422, "title is required, e.g. {\"title\": \"Buy milk\"}")
    stamp = now()
    return {"_id": ObjectId(), "owner": owner, "title": clean_title(data["title"]),
            "done": clean_done(data.get("done", False)), "created_at": stamp, "updated_at": stamp}


def todo_changes(data: dict) -> dict:
    """The $set of a PATCH body: only the fields sent."""
    if not data:
        raise BadInput(422, "nothing to change: send title and/or done")
    changes = {}
    if "title" in data:
        changes["title"] = clean_title(data["title"])
    if "done" in data:
        changes["done"] = clean_done(data["done"])
    changes["updated_at"] = now()
    return changes


def register_todos(app: Flask, todos, lists: ListCache, sessions: Sessions) -> None:
    indexed = []

    def require_user() -> str:
        user = sessions.require_user()
        # Once per process, on first use: at import time the store may still be starting.
        if not indexed and hasattr(todos, "create_index"):
            todos.create_index([("owner", ASCENDING), ("created_at", ASCENDING)])
            indexed.append(True)
        return user

    def owned(owner: str, raw_id: str) -> dict:
        """The todo, read by _id alone (an index read) and then checked: another
        account's todo is a 404 like an unknown id."""
        doc = todos.find_one({"_id": object_id(raw_id)})
        if doc is None or doc.get("owner") != owner:
            raise BadInput(404, f"no todo with id {raw_id}")
        return doc

    @app.get("/api/todos")
    def list_todos():
        owner = require_user()
        version = lists.version(owner)
        body = lists.get(owner, version)
        if body is None:
            docs = todos.find({"owner": owner}).sort([("created_at", ASCENDING), ("_id", ASCENDING)])
            body = jsonify([public(doc) for doc in docs]).get_data()
            lists.put(owner, version, body)
        return app.response_class(body, mimetype="application/json")

    @app.post("/api/todos")
    def create_todo():
        owner = require_user()
        doc = new_todo(owner, json_body(TODO_FIELDS))
        todos.insert_one(doc)
        lists.changed(owner)
        return jsonify(public(doc)), 201, {"Location": f"/api/todos/{doc['_id']}"}

    @app.get("/api/todos/<raw_id>")
    def get_todo(raw_id: str):
        return jsonify(public(owned(require_user(), raw_id)))

    @app.patch("/api/todos/<raw_id>")
    def update_todo(raw_id: str):
        owner = require_user()
        changes = todo_changes(json_body(TODO_FIELDS))
        # The owner of a todo never changes: checked once, then updated by _id.
        found = owned(owner, raw_id)
        doc = todos.find_one_and_update({"_id": found["_id"]}, {"$set": changes}, return_document=ReturnDocument.AFTER)
        if doc is None:
            raise BadInput(404, f"no todo with id {raw_id}")
        lists.changed(owner)
        return jsonify(public(doc))

    @app.delete("/api/todos/<raw_id>")
    def delete_todo(raw_id: str):
        owner = require_user()
        try:
            found = owned(owner, raw_id)
            if todos.delete_one({"_id": found["_id"]}).deleted_count == 0:
                raise BadInput(404, f"no todo with id {raw_id}")
        except BadInput as error:
            if error.status == 404:
                # Gone already: perhaps deleted by a request whose new version
                # never got written (503), which the client now retries.
                lists.changed(owner)
            raise
        lists.changed(owner)
        return "", 204


# --- health and the page ----------------------------------------------------

def register_pages(app: Flask, db) -> None:
    static_dir = os.path.join(os.path.dirname(__file__), "static")

    @app.get("/healthz")
    def health():
        db.command("ping")
        return jsonify(status="ok")

    @app.get("/")
    def page():
        return send_from_directory(static_dir, "index.html", max_age=0)

    @app.get("/static/<path:name>")
    def static_file(name: str):
        return send_from_directory(static_dir, name, max_age=3600)


def create_app(db=None, session_key: bytes | None = None, clock=time.time) -> Flask:
    """db: the `todo` database (pymongo's, or any object giving the same
    collections); session_key: the HMAC key of session cookies. Both default
    to the store and the compose secret."""
    app = Flask(__name__, static_folder=None)
    configure_log()
    app.config["MAX_CONTENT_LENGTH"] = BODY_MAX
    app.json.sort_keys = False

    if db is None:
        db = store.connect()
    if session_key is None:
        session_key = store.secret("todo_session_key").encode()
    if len(session_key) < 16:
        raise ValueError("the session key is too short (expected the generated todo_session_key secret)")
    todos, users, session_docs, throttle_docs, meta = (
        db[name] for name in ("todos", "users", "sessions", "throttle", "meta"))
    sessions = Sessions(session_key, session_docs, clock)
    throttle = Throttle(throttle_docs, clock)
    lists = app.extensions["todo_lists"] = ListCache(users, clock)

    register_errors(app)
    register_hooks(app)
    register_accounts(app, users, meta, todos, lists, sessions, throttle)
    register_todos(app, todos, lists, sessions)
    register_pages(app, db)
    return app
