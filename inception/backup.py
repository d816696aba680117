"""Backup and restore of every store, through the running containers.

An archive (tar.gz) holds:
  manifest.json   what is inside, when, from which site
  mariadb.sql     mariadb-dump --single-transaction (a consistent snapshot)
  wordpress.tar   the WordPress files volume (core, wp-content, uploads)
  todos.jsonl     the todo collection, one MongoDB extended-JSON document a line
  secrets/        only with --with-secrets
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tarfile
import tempfile
import time
from pathlib import Path

from . import compose
from .settings import ROOT, Settings

BACKUP_DIR = ROOT / "backups"

# Runs in the todo container (pymongo and bson from Debian), as the todo user.
DUMP_TODOS = """
import os, sys
from bson import json_util
from pymongo import MongoClient
with open(os.environ["MONGODB_PASSWORD_FILE"]) as f:
    password = f.read().strip()
client = MongoClient(os.environ["MONGODB_URI"], username=os.environ.get("MONGODB_USER", "todo"),
                     password=password, authSource="todo", authMechanism="SCRAM-SHA-256")
for doc in client.todo.todos.find({}).sort("_id", 1):
    sys.stdout.write(json_util.dumps(doc) + "\\n")
"""

RESTORE_TODOS = """
import os, sys
from bson import json_util
from pymongo import MongoClient
with open(os.environ.get("MONGODB_PASSWORD_FILE", "/run/todo-secrets/mongodb_password")) as f:
    password = f.read().strip()
client = MongoClient(os.environ["MONGODB_URI"], username=os.environ.get("MONGODB_USER", "todo"),
                     password=password, authSource="todo", authMechanism="SCRAM-SHA-256", journal=True)
docs = [json_util.loads(line) for line in sys.stdin if line.strip()]
client.todo.todos.delete_many({})
if docs:
    client.todo.todos.insert_many(docs)
print(len(docs))
"""


class BackupError(Exception):
    pass


def _exec_to_file(settings: Settings, container: str, command: list[str], target: Path, user: str | None = None,
                  env: dict | None = None) -> None:
    """Run a command in a container with its stdout going to a host file."""
    with open(target, "wb") as out:
        result = compose.exec_in(settings, container, command, user=user, env=env, stdout=out)
    if result.returncode != 0:
        raise BackupError(f"{container}: `{' '.join(command[:2])}` failed: "
                          f"{result.stderr.decode(errors='replace').strip()[-400:]}")


def _exec_from_file(settings: Settings, container: str, command: list[str], source: Path,
                    user: str | None = None) -> str:
    """Run a command in a container with a host file on its stdin."""
    with open(source, "rb") as data:
        result = compose.exec_in(settings, container, command, user=user, stdin=data)
    if result.returncode != 0:
        raise BackupError(f"{container}: `{' '.join(command[:2])}` failed: "
                          f"{result.stderr.decode(errors='replace').strip()[-400:]}")
    return result.stdout.decode(errors="replace").strip()


def create(settings: Settings, with_secrets: bool, output_dir: Path = BACKUP_DIR, say=print) -> Path:
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    output_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    archive = output_dir / f"inception-backup-{stamp}.tar.gz"
    with tempfile.TemporaryDirectory(prefix="inception-backup-") as work:
        work = Path(work)
        say("dumping the MariaDB database (one consistent transaction)")
        # db-dump (in the mariadb image) logs in as root with the password
        # from its secret file: root has no password-less socket login.
        _exec_to_file(settings, "mariadb", ["db-dump", "--databases", settings["MYSQL_DATABASE"]],
                      work / "mariadb.sql")
        say("archiving the WordPress files")
        _exec_to_file(settings, "wordpress", ["tar", "-C", "/var/www/html", "-cf", "-", "."], work / "wordpress.tar",
                      user="www-data")
        say("exporting the todos")
        _exec_to_file(settings, "todo", ["python3", "-c", DUMP_TODOS], work / "todos.jsonl", user="todo",
                      env={"MONGODB_PASSWORD_FILE": "/run/todo-secrets/mongodb_password"})
        manifest = {"created": stamp, "domain": settings.domain, "database": settings["MYSQL_DATABASE"],
                    "files": ["mariadb.sql", "wordpress.tar", "todos.jsonl"], "secrets": with_secrets}
        (work / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
        # The archive may hold secrets and always holds password hashes: owner only.
        fd = os.fdopen(os.open(archive, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb")
        with fd, tarfile.open(fileobj=fd, mode="w:gz") as tar:
            for name in ["manifest.json", *manifest["files"]]:
                tar.add(work / name, arcname=name)
            if with_secrets:
                tar.add(settings.secrets_dir, arcname="secrets")
    return archive


def restore(settings: Settings, archive: Path, say=print) -> dict:
    if not archive.is_file():
        raise BackupError(f"{archive} is not a file; `ls {BACKUP_DIR}` lists the backups")
    with tempfile.TemporaryDirectory(prefix="inception-restore-") as work:
        work = Path(work)
        try:
            with tarfile.open(archive, "r:gz") as tar:
                tar.extractall(work, filter="data")
        except (tarfile.TarError, OSError) as exc:
            raise BackupError(f"{archive} is not a readable backup archive: {exc}") from None
        manifest_file = work / "manifest.json"
        if not manifest_file.exists():
            raise BackupError(f"{archive} has no manifest.json; it was not made by `invoke backup`")
        manifest = json.loads(manifest_file.read_text())
        if manifest["database"] != settings["MYSQL_DATABASE"]:
            raise BackupError(f"the backup is of database {manifest['database']!r}, this stack uses "
                              f"{settings['MYSQL_DATABASE']!r} (MYSQL_DATABASE in .env)")
        say("restoring the WordPress files")
        _exec_from_file(settings, "wordpress", ["tar", "-C", "/var/www/html", "-xf", "-"], work / "wordpress.tar",
                        user="www-data")
        say("restoring the MariaDB database")
        _exec_from_file(settings, "mariadb", ["db-restore"], work / "mariadb.sql")
        say("restoring the todos")
        count = _exec_from_file(settings, "todo", ["env", "MONGODB_PASSWORD_FILE=/run/todo-secrets/mongodb_password",
                                         "python3", "-c", RESTORE_TODOS], work / "todos.jsonl", user="todo")
        say("emptying the object cache (it holds the data from before the restore)")
        compose.exec_in(settings, "redis", ["bash", "-c",
                        'REDISCLI_AUTH="$(</run/secrets/redis_password)" redis-cli --no-auth-warning FLUSHDB'])
        if manifest.get("secrets"):
            saved = work / "secrets"
            say(f"the archive carries secrets; they were not applied. To use them on a new machine, copy "
                f"them into {settings.secrets_dir} before the first `invoke up`: tar -xzf {archive} secrets")
            shutil.rmtree(saved, ignore_errors=True)
    return {"todos": int(count.splitlines()[-1]) if count else 0, "created": manifest["created"]}
