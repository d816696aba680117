"""Suite-wide pytest setup: markers by folder, disruptive tests last."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


# `invoke test --smoke`: a quick check after `make` that each service answers
# and does its main job (kept here, in one list, so it reads as a whole).
SMOKE = {
    "test_tls.py::test_home_page_answers_with_site_title",
    "test_tls.py::test_certificate_covers_every_host_name",
    "test_wordpress.py::test_user_can_log_in_and_reach_the_dashboard",
    "test_wordpress.py::test_post_created_over_http_is_published",
    "test_adminer.py::test_database_user_login_lists_the_wordpress_tables",
    "test_static.py::test_home_page_is_compressed_html",
    "test_todo.py::test_read_list_update_delete",
    "test_ftp.py::test_uploaded_file_is_served_over_https_then_deleted",
    "test_redis.py::test_page_views_store_wordpress_keys_under_the_site_prefix",
    "test_isolation.py::test_container_names_equal_service_names",
    "test_isolation.py::test_only_the_documented_ports_are_published",
    "test_privileges.py::test_no_new_privileges_and_all_capabilities_dropped",
}


def smoke_id(item) -> str:
    return f"{Path(str(item.fspath)).name}::{item.originalname}"


def pytest_collection_modifyitems(config, items):
    for item in items:
        folder = Path(str(item.fspath)).parent.name
        if folder in ("unit", "e2e"):
            item.add_marker(folder)
        if smoke_id(item) in SMOKE:
            item.add_marker("smoke")
    # Unit tests first (fast feedback), disruptive ones after everything else,
    # and floods last of all (the login limit would refuse the tests after them).
    items.sort(key=lambda item: (item.get_closest_marker("e2e") is not None,
                                 item.get_closest_marker("disruptive") is not None,
                                 item.get_closest_marker("flood") is not None))
