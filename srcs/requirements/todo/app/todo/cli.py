"""todo-dump and todo-restore: the store's accounts and todos as JSON lines
on stdout / from stdin, for `invoke backup` and `invoke restore` (run in the
todo container as the todo user, with the store's password from its secret file)."""

from __future__ import annotations

import json
import sys

from . import store


def dump() -> None:
    count = store.dump(store.connect(), sys.stdout)
    print(f"todo-dump: {count} document(s)", file=sys.stderr)


def restore() -> None:
    try:
        counts = store.restore(store.connect(), sys.stdin)
    except ValueError as exc:
        sys.exit(f"todo-restore: not a todo dump: {exc}")
    # One JSON line on stdout: what `invoke restore` reports.
    print(json.dumps(counts))
