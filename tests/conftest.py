"""Suite-wide pytest setup: markers by folder, disruptive tests last."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def pytest_collection_modifyitems(config, items):
    for item in items:
        folder = Path(str(item.fspath)).parent.name
        if folder in ("unit", "e2e"):
            item.add_marker(folder)
    # Unit tests first (fast feedback), disruptive ones after everything else,
    # and floods last of all (the login limit would refuse the tests after them).
    items.sort(key=lambda item: (item.get_closest_marker("e2e") is not None,
                                 item.get_closest_marker("disruptive") is not None,
                                 item.get_closest_marker("flood") is not None))
