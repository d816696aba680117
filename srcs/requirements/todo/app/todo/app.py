"""The todo app: a JSON API under /api/todos and the page that uses it.

Bad input always gets a 4xx JSON error naming the problem; a database that
cannot be reached gets 503; nothing a client sends produces a 500.
"""

from __future__ import annotations

import logging
import os
from datetime import datetime, timezone

from bson import ObjectId
from bson.errors import InvalidId
from flask import Flask, jsonify, request, send_from_directory
from pymongo import ASCENDING, MongoClient, ReturnDocument
from pymongo.errors import PyMongoError
from werkzeug.exceptions import HTTPException

TITLE_MAX = 200
BODY_MAX = 16 * 1024
FIELDS = {"title", "done"}

log = logging.getLogger("todo")


class BadInput(Exception):
    """A client error: status code and message for the JSON answer."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def public(doc: dict) -> dict:
    return {"id": str(doc["_id"]), "title": doc["title"], "done": doc["done"],
            "created_at": doc["created_at"], "updated_at": doc["updated_at"]}


def object_id(raw: str) -> ObjectId:
    try:
        return ObjectId(raw)
    except (InvalidId, TypeError):
        raise BadInput(400, f"invalid todo id {raw[:40]!r}: expected 24 hexadecimal characters") from None


def json_body() -> dict:
    if not request.is_json:
        raise BadInput(415, "send the body as JSON (Content-Type: application/json)")
    data = request.get_json(silent=True)
    if data is None:
        raise BadInput(400, "the body is not valid JSON")
    if not isinstance(data, dict):
        raise BadInput(400, "the body must be a JSON object, e.g. {\"title\": \"Buy milk\"}")
    unknown = sorted(set(data) - FIELDS)
    if unknown:
        raise BadInput(422, f"unknown field(s): {', '.join(unknown)}; allowed: title, done")
    return data


def clean_title(value) -> str:
    if not isinstance(value, str):
        raise BadInput(422, "title must be a string")
    title = value.strip()
    if not 1 <= len(title) <= TITLE_MAX:
        raise BadInput(422, f"title must be 1 to {TITLE_MAX} characters after trimming (got {len(title)})")
    return title


def clean_done(value) -> bool:
    if not isinstance(value, bool):
        raise BadInput(422, "done must be true or false")
    return value


def create_app(collection=None) -> Flask:
    app = Flask(__name__, static_folder=None)
    app.config["MAX_CONTENT_LENGTH"] = BODY_MAX
    app.json.sort_keys = False
    static_dir = os.path.join(os.path.dirname(__file__), "static")

    if collection is None:
        password_file = os.environ.get("MONGODB_PASSWORD_FILE", "/run/secrets/mongodb_password")
        with open(password_file) as handle:
            password = handle.read().strip()
        client = MongoClient(os.environ.get("MONGODB_URI", "mongodb://mongodb:27017/"),
                             username=os.environ.get("MONGODB_USER", "todo"), password=password,
                             authSource=os.environ.get("MONGODB_DATABASE", "todo"),
                             authMechanism="SCRAM-SHA-256", serverSelectionTimeoutMS=3000, connectTimeoutMS=3000, socketTimeoutMS=10000,
                             # Acknowledged only once the store has made the write durable.
                             w=1, journal=True, appname="todo")
        collection = client[os.environ.get("MONGODB_DATABASE", "todo")]["todos"]

    def find(raw_id: str) -> dict:
        doc = collection.find_one({"_id": object_id(raw_id)})
        if doc is None:
            raise BadInput(404, f"no todo with id {raw_id}")
        return doc

    @app.errorhandler(BadInput)
    def bad_input(error: BadInput):
        return jsonify(error=error.message), error.status

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        messages = {413: f"the body is larger than {BODY_MAX} bytes"}
        return jsonify(error=messages.get(error.code, error.description)), error.code

    @app.errorhandler(PyMongoError)
    def database_error(error: PyMongoError):
        log.error("database error: %s", error)
        return jsonify(error="the database is unavailable; try again in a moment"), 503

    @app.get("/api/todos")
    def list_todos():
        docs = collection.find({}).sort([("created_at", ASCENDING), ("_id", ASCENDING)])
        return jsonify([public(doc) for doc in docs])

    @app.post("/api/todos")
    def create_todo():
        data = json_body()
        if "title" not in data:
            raise BadInput(422, "title is required, e.g. {\"title\": \"Buy milk\"}")
        stamp = now()
        doc = {"_id": ObjectId(), "title": clean_title(data["title"]),
               "done": clean_done(data.get("done", False)), "created_at": stamp, "updated_at": stamp}
        collection.insert_one(doc)
        return jsonify(public(doc)), 201, {"Location": f"/api/todos/{doc['_id']}"}

    @app.get("/api/todos/<raw_id>")
    def get_todo(raw_id: str):
        return jsonify(public(find(raw_id)))

    @app.patch("/api/todos/<raw_id>")
    def update_todo(raw_id: str):
        data = json_body()
        if not data:
            raise BadInput(422, "nothing to change: send title and/or done")
        changes = {}
        if "title" in data:
            changes["title"] = clean_title(data["title"])
        if "done" in data:
            changes["done"] = clean_done(data["done"])
        changes["updated_at"] = now()
        doc = collection.find_one_and_update({"_id": object_id(raw_id)}, {"$set": changes},
                                             return_document=ReturnDocument.AFTER)
        if doc is None:
            raise BadInput(404, f"no todo with id {raw_id}")
        return jsonify(public(doc))

    @app.delete("/api/todos/<raw_id>")
    def delete_todo(raw_id: str):
        result = collection.delete_one({"_id": object_id(raw_id)})
        if result.deleted_count == 0:
            raise BadInput(404, f"no todo with id {raw_id}")
        return "", 204

    @app.get("/healthz")
    def health():
        collection.database.command("ping")
        return jsonify(status="ok")

    @app.get("/")
    def page():
        return send_from_directory(static_dir, "index.html", max_age=0)

    @app.get("/static/<path:name>")
    def static_file(name: str):
        return send_from_directory(static_dir, name, max_age=3600)

    return app


app = create_app()
