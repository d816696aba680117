"""The document store: connection from the container's settings and secret
files, and the dump/restore used by `invoke backup` / `invoke restore`.

Collections of the `todo` database:
  users     {_id: username, password: scrypt hash, created_at,
             todos_version: changes with every change to the account's todos}
  todos     {_id, owner: username, title, done, created_at, updated_at}
  sessions  {_id: sha256 of the cookie's token, user, expires}
  throttle  {_id, bucket, slot, expires}: one per counted attempt (rate limits)
  meta      {_id: "legacy_todos", owner}  (who received the todos from before accounts)
"""

from __future__ import annotations

import os

from bson import ObjectId, json_util

BACKED_UP = ("users", "todos", "meta")
# Sessions are not carried over (a restore signs everyone out, and a backup
# holds no live credential); neither are the rate limit counters.
RESET_ON_RESTORE = ("sessions", "throttle")


def secret(name: str) -> str:
    """A secret's value: the copy the entrypoint gave the todo user, else the
    compose secret itself (readable by root only)."""
    for folder in (os.environ.get("TODO_SECRETS_DIR", "/run/todo-secrets"), "/run/secrets"):
        path = os.path.join(folder, name)
        if os.path.exists(path):
            with open(path) as handle:
                return handle.read().strip()
    raise FileNotFoundError(f"secret {name} not found in /run/todo-secrets or /run/secrets")


def connect():
    """The `todo` database (pymongo connects lazily: nothing is sent yet)."""
    from pymongo import MongoClient

    name = os.environ.get("MONGODB_DATABASE", "todo")
    client = MongoClient(os.environ.get("MONGODB_URI", "mongodb://mongodb:27017/"),
                         username=os.environ.get("MONGODB_USER", "todo"), password=secret("mongodb_password"),
                         authSource=name, authMechanism="SCRAM-SHA-256",
                         serverSelectionTimeoutMS=3000, connectTimeoutMS=3000, socketTimeoutMS=10000,
                         # Acknowledged only once the store has made the write durable.
                         w=1, journal=True, appname="todo")
    return client[name]


def dump(db, out) -> int:
    """One line per document: {"collection": ..., "document": ...} in MongoDB
    extended JSON (ObjectIds and dates kept exactly)."""
    count = 0
    for collection in BACKED_UP:
        for doc in db[collection].find({}).sort([("_id", 1)]):
            out.write(json_util.dumps({"collection": collection, "document": doc}) + "\n")
            count += 1
    return count


def restore(db, lines) -> dict:
    """Replace users, todos and meta with the dump's. Archives from before
    accounts hold bare todo documents (no owner): they come back without an
    owner and go, like any todo from before accounts, to the first account
    that signs up (the meta marker is reset with the rest)."""
    docs = {collection: [] for collection in BACKED_UP}
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        record = json_util.loads(line)
        if "collection" in record and "document" in record:
            if record["collection"] not in docs:
                raise ValueError(f"line {number}: unknown collection {record['collection']!r}")
            docs[record["collection"]].append(record["document"])
        elif "title" in record:
            docs["todos"].append(record)
        else:
            raise ValueError(f"line {number}: neither a dump record nor a todo")
    for collection in RESET_ON_RESTORE + BACKED_UP:
        db[collection].delete_many({})
    for collection, items in docs.items():
        if items:
            db[collection].insert_many(items)
    # The running app keeps each account's list while its version stays the
    # same: restored todos come with a version no process has seen.
    db["users"].update_many({}, {"$set": {"todos_version": str(ObjectId())}})
    return {collection: len(items) for collection, items in docs.items()}
