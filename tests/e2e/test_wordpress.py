"""WordPress: both users log in, roles differ, nginx serves static files itself."""

import uuid

import pytest


@pytest.mark.parametrize("user_key, password_key", [("WP_ADMIN_USER", "wp_admin_password"),
                                                    ("WP_USER", "wp_user_password")])
def test_user_can_log_in_and_reach_the_dashboard(wordpress, secret, user_key, password_key):
    session = wordpress.login(wordpress.settings[user_key], secret(password_key))
    r = session.get(wordpress.url("/wp-admin/"), timeout=30)
    assert r.status_code == 200 and "Dashboard" in r.text, (
        f"{wordpress.settings[user_key]}: GET /wp-admin/ -> {r.status_code}: {r.text[:200]}")


def test_only_the_administrator_reaches_the_settings(wordpress, secret, admin):
    r = admin.get(wordpress.url("/wp-admin/options-general.php"), timeout=30)
    assert r.status_code == 200 and "General Settings" in r.text, f"admin: settings page -> {r.status_code}"
    author = wordpress.login(wordpress.settings["WP_USER"], secret("wp_user_password"))
    r = author.get(wordpress.url("/wp-admin/options-general.php"), timeout=30)
    assert r.status_code == 403, f"the author reached the settings page: {r.status_code}"


def test_administrator_name_does_not_contain_admin(wordpress, admin):
    """Asked of WordPress itself: every administrator account it has."""
    r = admin.get(wordpress.url("/wp-json/wp/v2/users"), timeout=30,
                  params={"roles": "administrator", "context": "edit", "per_page": 100},
                  headers={"X-WP-Nonce": wordpress.rest_nonce(admin)})
    assert r.status_code == 200, f"listing administrators -> {r.status_code}: {r.text[:200]}"
    logins = [user["username"] for user in r.json()]
    assert logins, "WordPress lists no administrator"
    offending = [login for login in logins if "admin" in login.lower()]
    assert not offending, f"administrator logins containing 'admin': {offending}"


def test_wrong_password_is_refused(wordpress, http):
    http.get(wordpress.url("/wp-login.php"), timeout=30)
    r = http.post(wordpress.url("/wp-login.php"), timeout=30, allow_redirects=False, data={
        "log": wordpress.settings["WP_ADMIN_USER"], "pwd": "not-the-password", "testcookie": "1"})
    assert r.status_code == 200 and "incorrect" in r.text.lower(), (
        f"a wrong password got {r.status_code}, Location={r.headers.get('Location')!r}")


def test_post_created_over_http_is_published(wordpress, admin, http):
    title = f"Hello from the tests {uuid.uuid4().hex[:8]}"
    post = wordpress.create_post(admin, title)
    r = http.get(post["link"], timeout=30)
    assert r.status_code == 200 and title in r.text, f"GET {post['link']} -> {r.status_code}, title not shown"


def test_author_is_not_an_administrator(wordpress, admin):
    r = admin.get(wordpress.url("/wp-json/wp/v2/users"), params={"context": "edit"},
                  headers={"X-WP-Nonce": wordpress.rest_nonce(admin)}, timeout=30)
    assert r.status_code == 200, f"listing users -> {r.status_code}: {r.text[:200]}"
    roles = {user["username"]: user["roles"] for user in r.json()}
    settings = wordpress.settings
    assert roles.get(settings["WP_ADMIN_USER"]) == ["administrator"], f"roles: {roles}"
    assert roles.get(settings["WP_USER"]) == ["author"], f"roles: {roles}"


@pytest.mark.parametrize("path", ["/wp-config.php", "/.htaccess", "/wp-content/uploads/x.php"])
def test_sensitive_paths_are_not_served(http, wordpress, path):
    r = http.get(wordpress.url(path), timeout=30)
    assert r.status_code in (403, 404), f"GET {path} -> {r.status_code}"
    assert "DB_PASSWORD" not in r.text


def test_static_files_are_served_by_nginx_with_caching(http, wordpress):
    path = "/wp-includes/css/dashicons.min.css"
    r = http.get(wordpress.url(path), timeout=30, headers={"Accept-Encoding": "gzip"})
    assert r.status_code == 200, f"GET {path} -> {r.status_code}"
    assert r.headers.get("Content-Type", "").startswith("text/css"), r.headers.get("Content-Type")
    assert "max-age" in r.headers.get("Cache-Control", ""), f"no cache lifetime: {r.headers.get('Cache-Control')}"
    assert r.headers.get("Content-Encoding") == "gzip", "CSS is not compressed"
