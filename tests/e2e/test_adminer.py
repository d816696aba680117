"""Adminer: verified TLS, logs in to the project's MariaDB only."""

import pytest

from inception import compose

from .conftest import new_session, run_once


@pytest.fixture
def adminer(stack_up, ca_file):
    session = new_session(ca_file)
    url = stack_up.url(host=f"adminer.{stack_up.domain}")
    r = session.get(url, timeout=30)
    assert r.status_code == 200, f"GET {url} -> {r.status_code}: {r.text[:200]}"
    return session, url, r


def log_in(session, url, server, username, password, database):
    return session.post(url, timeout=30, data={
        "auth[driver]": "server", "auth[server]": server, "auth[username]": username,
        "auth[password]": password, "auth[db]": database})


def test_login_page_answers_over_verified_tls(adminer):
    _, _, page = adminer
    assert 'name="auth[password]"' in page.text, "no password field on Adminer's login page"
    assert "<select name='auth[server]'><option>mariadb</select>" in page.text.replace("\n", ""), (
        "the server field offers something other than mariadb only")


def test_session_cookies_are_secure_and_httponly(adminer):
    _, _, page = adminer
    cookies = page.raw.headers.getlist("Set-Cookie")
    assert cookies, "Adminer set no cookie"
    for cookie in cookies:
        flags = cookie.lower()
        assert "; secure" in flags and "; httponly" in flags, f"cookie without Secure/HttpOnly: {cookie}"


def test_database_user_login_lists_the_wordpress_tables(adminer, stack_up, secret):
    session, url, _ = adminer
    r = log_in(session, url, "mariadb", stack_up["MYSQL_USER"], secret("db_password"), stack_up["MYSQL_DATABASE"])
    assert r.status_code == 200, f"login -> {r.status_code}: {r.text[:300]}"
    for table in ("wp_posts", "wp_users", "wp_options"):
        assert table in r.text, f"{table} not listed after login"


@pytest.mark.parametrize("server", ["127.0.0.1", "wordpress:9000", "mariadb:3307", "example.com", "localhost"])
def test_login_naming_another_server_is_refused(adminer, stack_up, secret, server):
    session, url, _ = adminer
    r = log_in(session, url, server, stack_up["MYSQL_USER"], secret("db_password"), stack_up["MYSQL_DATABASE"])
    assert r.status_code == 403 and "wp_posts" not in r.text, f"server {server!r}: {r.status_code}, logged in"


def test_login_without_password_is_refused(adminer, stack_up):
    session, url, _ = adminer
    r = log_in(session, url, "mariadb", stack_up["MYSQL_USER"], "", stack_up["MYSQL_DATABASE"])
    assert r.status_code == 403 and "wp_posts" not in r.text, f"empty password: {r.status_code}"
    r = log_in(session, url, "mariadb", "root", "", "")
    assert r.status_code == 403 and "information_schema" not in r.text, f"root without password: {r.status_code}"


def test_adminer_image_has_no_web_server(docker_api, stack_up):
    output = run_once(
        docker_api, f"adminer:{compose.IMAGE_TAG}", ["-c", "dpkg-query -W -f '${Package}\\n'"],
        entrypoint="bash").decode().split()
    found = [name for name in output if name.startswith(("apache2", "nginx", "lighttpd"))]
    assert not found, f"web servers in the adminer image: {found}"
