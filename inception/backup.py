"""Backup and restore of every store, through the running containers.

An archive (tar.gz) holds:
  manifest.json   what is inside, when, from which site
  mariadb.sql     mariadb-dump --single-transaction (a consistent snapshot)
  wordpress.tar   the WordPress files volume (core, wp-content, uploads)
  todos.jsonl     the todo app's accounts and todos, one MongoDB extended-JSON record a line
  secrets/        only with --with-secrets
"""

from __future__ import annotations

import json
import os
import shutil
import tarfile
import tempfile
import time
from pathlib import Path

from . import compose
from .errors import InceptionError
from .settings import ROOT, Settings

BACKUP_DIR = ROOT / "backups"

# The todo image's own commands (srcs/requirements/todo/app/todo/store.py),
# run as the todo user: they read the store's password from its secret file.
# todos.jsonl holds the accounts (password hashes) and their todos; sessions
# are not kept (a restore signs everyone out). Archives made before accounts
# (bare todo documents) are still accepted.
DUMP_TODOS = ["todo-dump"]
RESTORE_TODOS = ["todo-restore"]


class BackupError(InceptionError):
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
        _exec_to_file(settings, "todo", DUMP_TODOS, work / "todos.jsonl", user="todo")
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
        restored = json.loads(_exec_from_file(settings, "todo", RESTORE_TODOS, work / "todos.jsonl",
                                              user="todo").splitlines()[-1])
        say("emptying the object cache (it holds the data from before the restore)")
        # cache-flush (in the redis image) logs in as Redis's maintenance user.
        flushed = compose.exec_in(settings, "redis", ["cache-flush"], timeout=60)
        if flushed.returncode != 0:
            say("WARNING: emptying the object cache failed "
                f"({flushed.stderr.decode(errors='replace').strip()[-200:]}); WordPress may show data from before "
                "the restore until it is emptied: `invoke down` then `invoke up` (Redis keeps nothing on disk)")
        if manifest.get("secrets"):
            saved = work / "secrets"
            say(f"the archive carries secrets; they were not applied. To use them on a new machine, copy "
                f"them into {settings.secrets_dir} before the first `invoke up`: tar -xzf {archive} secrets")
            shutil.rmtree(saved, ignore_errors=True)
    return {"todos": restored["todos"], "todo_accounts": restored["users"], "created": manifest["created"]}
