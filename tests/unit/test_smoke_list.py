"""The smoke subset names tests that exist (a renamed test would silently
drop out of `invoke test --smoke`)."""

import ast
from pathlib import Path

from tests.conftest import SMOKE

E2E = Path(__file__).resolve().parent.parent / "e2e"


def test_every_smoke_entry_names_an_existing_test():
    existing = set()
    for path in E2E.glob("test_*.py"):
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
                existing.add(f"{path.name}::{node.name}")
    missing = sorted(SMOKE - existing)
    assert not missing, f"smoke entries without a test: {missing}"
