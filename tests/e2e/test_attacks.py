"""An attacker's view of the web front (nginx, WordPress, Adminer, the todo
API's edge): each finding of the security probe (issue 13, and issue 18's
post-quantum key exchange), tried in several forms, since the probe is re-run
with variants. Every attempt here must fail.

Paths are sent byte for byte (http.client, never requests/urllib3, which
would resolve dot segments and re-encode), over TLS verified against the
project CA.
"""

from __future__ import annotations

import base64
import http.client
import json
import re
import ssl
import time
import uuid

import pytest

from inception import compose

from .conftest import GROUP_NAMES, negotiated_group, new_session, suite_has, wait_until

pytestmark = pytest.mark.attack


# --- helpers -----------------------------------------------------------------

class Reply:
    def __init__(self, status: int, headers: http.client.HTTPMessage, body: bytes):
        self.status, self.headers, self.body = status, headers, body
        self.text = body.decode("utf-8", errors="replace")

    def __repr__(self):
        return f"{self.status} {self.text[:160]!r}"


def raw(settings, ca_file, path: str, host: str | None = None, method: str = "GET",
        body: bytes | None = None, headers: dict | None = None) -> Reply:
    """One request with `path` sent exactly as written."""
    context = ssl.create_default_context(cafile=ca_file)
    connection = http.client.HTTPSConnection(host or settings.domain, int(settings["HTTPS_PORT"]),
                                             context=context, timeout=60)
    try:
        connection.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        port = settings["HTTPS_PORT"]
        connection.putheader("Host", (host or settings.domain) + ("" if port == "443" else f":{port}"))
        for key, value in (headers or {}).items():
            connection.putheader(key, value)
        if body is not None:
            connection.putheader("Content-Length", str(len(body)))
        connection.endheaders(body)
        response = connection.getresponse()
        return Reply(response.status, response.headers, response.read())
    finally:
        connection.close()


def exec_in(settings, service: str, command: list[str], user: str | None = None,
            input: bytes | None = None) -> str:
    result = compose.exec_in(settings, service, command, user=user, input=input, timeout=120)
    assert result.returncode == 0, (f"`{' '.join(command)}` in {service} -> exit {result.returncode}: "
                                    f"{result.stderr.decode(errors='replace')[-400:]}")
    return result.stdout.decode(errors="replace")


NGINX_PAGE = "<center>nginx</center>"


@pytest.fixture(scope="module", autouse=True)
def login_limit_drains_afterwards():
    """These tests log in and fail logins on purpose, up to the login limit's
    burst (20, refilled at 2 a second): it refills before the next module
    logs in."""
    yield
    time.sleep(10)


@pytest.fixture(scope="module")
def admin_session(stack_up, ca_file, secret):
    """One administrator login for the module (each login counts against
    the login rate limit)."""
    from .conftest import WordPress
    return WordPress(stack_up, ca_file).login(stack_up["WP_ADMIN_USER"], secret("wp_admin_password"))


# --- 1. PHP dropped into uploads never runs ----------------------------------

UPLOADS = "/var/www/html/wp-content/uploads"
# Every extension PHP or an FPM pool has ever run, in several cases.
SCRIPT_EXTENSIONS = ["php", "PHP", "Php", "phtml", "phar", "php7", "php5", "pht", "phps"]


@pytest.fixture(scope="module")
def dropped_scripts(stack_up):
    """PHP files in uploads (and a dated subfolder, as WordPress files media)
    that print a marker. The marker is not in the source: it shows only if
    the file runs, not if it is served as text."""
    marker = f"EXECUTED{uuid.uuid4().hex[:12].upper()}"
    source = f'<?php echo strrev("{marker[::-1]}");'
    stem = f"attack-{uuid.uuid4().hex[:8]}"
    folders = ["", "2026/11/"]
    names = [f"{folder}{stem}.{ext}" for folder in folders for ext in SCRIPT_EXTENSIONS]
    # An image with PHP inside, as an upload form would accept it.
    names.append(f"{stem}.jpg")
    # A new site has no uploads folder until its first upload: make it, as that upload would.
    script = f"set -e; mkdir -p {UPLOADS}/2026/11; cd {UPLOADS}; " + "; ".join(
        f"cat /tmp/attack-source > '{name}'" for name in names)
    exec_in(stack_up, "wordpress", ["sh", "-c", f"cat > /tmp/attack-source && {script}"],
            user="www-data", input=source.encode())
    yield marker, stem, names
    exec_in(stack_up, "wordpress", ["sh", "-c", f"cd {UPLOADS} && rm -f {stem}.* 2026/11/{stem}.* /tmp/attack-source"],
            user="www-data")


def upload_url_forms(name: str) -> list[str]:
    """The same uploaded file, named in every way a URL can name it."""
    base = f"/wp-content/uploads/{name}"
    folder, _, file = base.rpartition("/")
    return [
        base,
        f"{base}/anything",
        f"{base}/x.jpg",
        f"{base}/",
        f"{base}%2Fanything",
        f"{base}%2fx.jpg",
        f"{base}?x=1",
        f"/wp-content/uploads/../uploads/{name}/a",
        f"/wp-content/./uploads/{name}",
        f"/wp-includes/../wp-content/uploads/{name}",
        f"//wp-content//uploads/{name}/",
        f"/wp-content%2Fuploads/{name}/a",
        f"/wp-content/%75ploads/{name}",
        f"{folder}/%{ord(file[0]):02X}{file[1:]}",
        f"/WP-CONTENT/uploads/{name}",
        f"/index.php/../wp-content/uploads/{name}",
        f"/index.php{base}",
    ]


def test_uploaded_php_never_runs_whatever_the_url(stack_up, ca_file, dropped_scripts):
    marker, _, names = dropped_scripts
    ran, wrong_status = [], []
    for name in names:
        for path in upload_url_forms(name):
            reply = raw(stack_up, ca_file, path)
            if marker in reply.text:
                ran.append(f"{path} -> {reply.status}")
            elif name.endswith(".jpg") and reply.status == 200:
                # An image is served, as data: never as a page.
                if not reply.headers.get("Content-Type", "").startswith("image/"):
                    wrong_status.append(f"{path} -> 200 as {reply.headers.get('Content-Type')}")
            elif reply.status not in (403, 404):
                wrong_status.append(f"{path} -> {reply!r}")
    assert not ran, "an uploaded PHP file RAN (its marker is in the answer):\n  " + "\n  ".join(ran)
    assert not wrong_status, "uploaded scripts answered other than 403/404:\n  " + "\n  ".join(wrong_status)


@pytest.mark.parametrize("form", [
    "/wp-content/uploads/{name}", "/wp-content/uploads/{name}/a", "/wp-content/uploads/{name}%2Fa",
    "/wp-content/uploads/../uploads/{name}/a", "//wp-content//uploads/{name}/",
])
def test_nginx_alone_refuses_uploaded_scripts(stack_up, ca_file, dropped_scripts, form):
    """The refusal is nginx's own page: the request never reached PHP-FPM
    (so nginx would stop it even without PHP-FPM's guard)."""
    _, stem, _ = dropped_scripts
    reply = raw(stack_up, ca_file, form.format(name=f"{stem}.php"))
    assert reply.status in (403, 404) and NGINX_PAGE in reply.text, (
        f"{form}: not refused by nginx itself: {reply!r}")


@pytest.mark.parametrize("suffix", ["php", "php/anything", "php/x.jpg", "phtml", "phar", "php7", "PHP", "jpg"])
def test_php_fpm_alone_refuses_uploaded_scripts(stack_up, dropped_scripts, suffix):
    """Straight to PHP-FPM over FastCGI (inside the wordpress container), as if
    nginx's rules were gone: the pool's extension limit, cgi.fix_pathinfo=0
    and its guard refuse every script under uploads."""
    marker, stem, _ = dropped_scripts
    for folder in ("", "2026/11/"):
        filename = f"{UPLOADS}/{folder}{stem}.{suffix}"
        reply = exec_in(stack_up, "wordpress", [
            "env", f"SCRIPT_FILENAME={filename}", f"SCRIPT_NAME=/x.{suffix}", "REQUEST_METHOD=GET",
            "REQUEST_URI=/x", "cgi-fcgi", "-bind", "-connect", "127.0.0.1:9000"])
        assert marker not in reply, f"PHP-FPM ran {filename}:\n{reply[:300]}"
        status = re.search(r"^Status: (\d+)", reply, re.M)
        assert status and status.group(1) in ("403", "404"), f"PHP-FPM answered {filename} with:\n{reply[:300]}"


def test_php_settings_refuse_path_tricks(stack_up):
    """The settings behind the guard, as PHP-FPM itself reports them."""
    # -tt prints the parsed configuration to stderr.
    result = compose.exec_in(stack_up, "wordpress", ["php-fpm", "-tt"], user="www-data", timeout=60)
    config = result.stderr.decode(errors="replace")
    assert result.returncode == 0, f"php-fpm -tt failed: {config[-300:]}"
    # The FPM binary's own view of its php.ini (cgi.* exists only there).
    info = exec_in(stack_up, "wordpress", ["php-fpm", "-i"], user="www-data")
    assert re.search(r"security\.limit_extensions = \.php\s*$", config, re.M), (
        "security.limit_extensions is not exactly .php")
    assert re.search(r"auto_prepend_file.*php-guard\.php", config), "the pool has no script guard"
    assert re.search(r"^cgi\.fix_pathinfo => Off", info, re.M), "cgi.fix_pathinfo is not off"
    assert re.search(r"^user_ini\.filename => no value", info, re.M), "per-directory .user.ini files are read"


# --- 2. every URL that reaches the login is rate-limited ---------------------

LOGIN_VARIANTS = [
    "/wp-login.php", "/wp-login.php/x", "/wp-login.php/", "/wp-login.php%2Fx", "//wp-login.php",
    "/./wp-login.php", "/wp-admin/../wp-login.php", "/%77p-login.php", "/WP-LOGIN.PHP", "/Wp-Login.php",
    "/wp-login.php?action=lostpassword", "/xmlrpc.php", "/xmlrpc.php/x", "//xmlrpc.php", "/XMLRPC.php",
]


def login_post(settings, ca_file, path):
    body = b"log=nobody&pwd=not-the-password"
    return raw(settings, ca_file, path, method="POST", body=body,
               headers={"Content-Type": "application/x-www-form-urlencoded"})


def exhaust_login_limit(settings, ca_file, http, path="/wp-login.php"):
    statuses = [http.post(settings.url(path=path), data={"log": "nobody", "pwd": "x"}, timeout=30).status_code
                for _ in range(30)]
    return statuses


@pytest.mark.flood
def test_every_spelling_of_the_login_shares_its_rate_limit(stack_up, ca_file, http):
    """Once the exact login URL is limited, no other spelling of it reaches
    PHP (429, or refused outright); and a flood through a variant is limited
    too. Waits out the limit at the end for whatever runs next."""
    try:
        unlimited = []
        for variant in LOGIN_VARIANTS:
            statuses = exhaust_login_limit(stack_up, ca_file, http)
            assert 429 in statuses, f"30 rapid logins were never limited: {sorted(set(statuses))}"
            # The limit lets one request through every half second: of a few
            # quick tries, at most one may reach PHP.
            answers = [login_post(stack_up, ca_file, variant).status for _ in range(6)]
            if sum(status not in (429, 403, 404) for status in answers) > 1:
                unlimited.append(f"{variant} -> {answers}")
        assert not unlimited, ("with the login limited, these reached PHP anyway:\n  " + "\n  ".join(unlimited))

        # Spellings that do reach the script count against the same limit
        # (the others are refused before any limit applies: see below).
        for variant in ["//wp-login.php", "/./wp-login.php", "/%77p-login.php", "/wp-admin/../wp-login.php", "//xmlrpc.php"]:
            wait_until(lambda: http.get(stack_up.url(path="/wp-login.php"), timeout=30).status_code == 200,
                       30, "the login limit to drain")
            statuses = [login_post(stack_up, ca_file, variant).status for _ in range(30)]
            assert 429 in statuses, f"30 rapid POSTs to {variant} were never limited: {sorted(set(statuses))}"
    finally:
        wait_until(lambda: http.get(stack_up.url(path="/wp-login.php"), timeout=30).status_code == 200,
                   30, "the login page to answer again")


def test_login_variants_are_refused_not_run(stack_up, ca_file):
    """A path after the script name, or another case, is no entry point."""
    for variant in ["/wp-login.php/x", "/wp-login.php%2Fx", "/xmlrpc.php/x", "/WP-LOGIN.PHP", "/index.php/x/../../wp-login.php/y"]:
        reply = raw(stack_up, ca_file, variant)
        assert reply.status == 404 and 'name="log"' not in reply.text, f"{variant}: {reply!r}"


# --- 6. /nginx-health is not for the world -----------------------------------

@pytest.mark.parametrize("sub", ["", "adminer.", "static.", "todo."])
@pytest.mark.parametrize("path", ["/nginx-health", "/nginx-health/", "//nginx-health", "/%6Eginx-health",
                                  "/nginx-health?x=1", "/./nginx-health"])
def test_nginx_health_is_refused_from_outside(stack_up, ca_file, sub, path):
    reply = raw(stack_up, ca_file, path, host=f"{sub}{stack_up.domain}")
    assert reply.status in (403, 404), f"https://{sub}{stack_up.domain}{path} -> {reply!r}"
    assert "Active connections" not in reply.text and reply.text.strip() != "ok", "health data leaked"


def test_nginx_healthcheck_still_passes(stack_up, docker_api):
    result = compose.exec_in(stack_up, "nginx", ["healthcheck.sh"], timeout=30)
    assert result.returncode == 0, f"nginx's own healthcheck fails: {result.stderr.decode()[-300:]}"


# --- 10. no request path answers 500; internals are 403/404 ------------------

INTERNAL_PATHS = [
    "/wp-admin/setup-config.php", "/wp-admin/install.php", "/wp-admin/install.php?step=1",
    "/wp-settings.php", "/wp-load.php", "/wp-blog-header.php", "/wp-config.php", "/wp-config-sample.php",
    "/wp-content/db-error.php", "/wp-content/object-cache.php", "/wp-content/plugins/index.php",
    "/wp-content/index.php", "/wp-content/themes/index.php", "/wp-content/mu-plugins/inception-cache-refresh.php",
    "/wp-content/mu-plugins/inception-hardening.php", "/wp-includes/version.php", "/wp-includes/rss-functions.php",
    "/wp-includes/functions.php", "/wp-includes/wp-db.php", "/wp-admin/includes/admin.php",
    "/wp-admin/admin-functions.php", "/wp-admin/menu.php", "/wp-admin/admin-header.php",
    "/wp-content/plugins/akismet/akismet.php", "/wp-content/themes/twentytwentyfive/functions.php",
    "/wp-includes/ms-files.php", "/wp-settings.php/x", "/wp-includes/version.php%2Fx", "/WP-SETTINGS.PHP",
]


@pytest.mark.parametrize("path", INTERNAL_PATHS)
def test_internal_php_files_are_not_pages(stack_up, ca_file, path):
    reply = raw(stack_up, ca_file, path)
    assert reply.status in (403, 404), f"{path} -> {reply!r}"


def test_no_php_file_in_the_tree_answers_5xx(stack_up, ca_file):
    """Every .php file WordPress has, requested by its path: never a 5xx
    (a 500 is a script run where it should not be)."""
    listing = exec_in(stack_up, "wordpress", ["find", "/var/www/html", "-name", "*.php", "-not", "-path", "*/uploads/*"])
    paths = sorted(line.removeprefix("/var/www/html") for line in listing.split())
    assert len(paths) > 500, f"only {len(paths)} PHP files listed"
    session = new_session(ca_file)
    failures = []
    for path in paths:
        status = session.get(stack_up.url(path=path), timeout=60, allow_redirects=False).status_code
        if status >= 500:
            failures.append(f"{path} -> {status}")
    assert not failures, f"{len(failures)} of {len(paths)} PHP files answer 5xx:\n  " + "\n  ".join(failures)


def test_no_dashboard_page_answers_5xx_to_the_administrator(stack_up, wordpress, admin_session):
    """Logged in, the dashboard's refusals (multisite pages, a block theme's
    widgets, file changes off) are 403s, not wp_die()'s default 500."""
    admin = admin_session
    listing = exec_in(stack_up, "wordpress", ["find", "/var/www/html/wp-admin", "-maxdepth", "2", "-name", "*.php",
                                              "-not", "-path", "*/includes/*"])
    failures = []
    for path in sorted(line.removeprefix("/var/www/html") for line in listing.split()):
        status = admin.get(wordpress.url(path), timeout=60, allow_redirects=False).status_code
        if status >= 500:
            failures.append(f"{path} -> {status}")
    assert not failures, "dashboard pages answering 5xx to the administrator:\n  " + "\n  ".join(failures)


# --- 5. Adminer only from this machine ---------------------------------------

def test_adminer_still_answers_this_machine(stack_up, ca_file):
    reply = raw(stack_up, ca_file, "/", host=f"adminer.{stack_up.domain}")
    assert reply.status == 200 and 'name="auth[password]"' in reply.text, f"from the host: {reply!r}"


# Run inside the todo container (Python, on a network of nginx's, not the
# host): one request to nginx's 443 as another machine on that network would.
FROM_ANOTHER_CONTAINER = r"""
import json, socket, ssl, sys
ca, host, requests = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
answers = []
for path, headers in requests:
    context = ssl.create_default_context(cadata=ca)
    with socket.create_connection(("nginx", 443), timeout=20) as raw:
        with context.wrap_socket(raw, server_hostname=host) as tls:
            extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
            tls.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\n{extra}Connection: close\r\n\r\n".encode())
            data = b""
            while chunk := tls.recv(65536):
                data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    answers.append([int(head.split()[1]), body.decode(errors="replace")])
print(json.dumps(answers))
"""


def test_adminer_refuses_another_machine(stack_up, ca_file):
    host = f"adminer.{stack_up.domain}"
    attempts = [
        ["/", {}], ["/?server=mariadb&username=root", {}], ["/index.php", {}],
        ["/?file=default.css&version=1", {}], ["/", {"X-Forwarded-For": "127.0.0.1"}],
        ["/", {"X-Real-IP": "127.0.0.1", "Forwarded": "for=127.0.0.1"}],
    ]
    ca = open(ca_file).read()
    output = exec_in(stack_up, "todo", ["python3", "-c", FROM_ANOTHER_CONTAINER, ca, host, json.dumps(attempts)])
    for (path, headers), (status, body) in zip(attempts, json.loads(output)):
        assert status == 403, f"{path} {headers} from another container -> {status}: {body[:200]}"
        assert 'name="auth[password]"' not in body, f"{path}: Adminer's login form served to another machine"
        if path == "/" and not headers:
            assert "Adminer is restricted" in body and "ADMINER_ALLOW" in body, (
                f"the refusal does not say what to do: {body[:300]}")


# --- 4. login names stay private ---------------------------------------------

def leaks(text: str, logins: list[str]) -> list[str]:
    return [login for login in logins
            if re.search(rf"(?<![A-Za-z0-9_.-]){re.escape(login)}(?![A-Za-z0-9_-])", text, re.I)]


@pytest.fixture(scope="module")
def posts_by_both_users(stack_up, ca_file, secret, admin_session):
    from .conftest import WordPress
    wordpress = WordPress(stack_up, ca_file)
    admin = admin_session
    author = wordpress.login(stack_up["WP_USER"], secret("wp_user_password"))
    tag = uuid.uuid4().hex[:8]
    posts = [wordpress.create_post(admin, f"Admin post {tag}"), wordpress.create_post(author, f"Author post {tag}")]
    time.sleep(1.1)  # past the micro-cache's second
    return posts


def test_no_anonymous_answer_names_a_login(stack_up, ca_file, posts_by_both_users):
    logins = [stack_up["WP_ADMIN_USER"], stack_up["WP_USER"]]
    post_urls = [post["link"] for post in posts_by_both_users]
    ids = [str(post["id"]) for post in posts_by_both_users]
    paths = [
        "/wp-json/wp/v2/users", "/wp-json/wp/v2/users?per_page=100", "/wp-json/wp/v2/users?search=a",
        "/?rest_route=/wp/v2/users", "/?rest_route=%2Fwp%2Fv2%2Fusers", "/index.php?rest_route=/wp/v2/users/1",
        "/wp-json/wp/v2/users/1", "/wp-json/wp/v2/users/2", "/wp-json/wp/v2/users/me", "/wp-json/",
        "/wp-sitemap.xml", "/wp-sitemap-users-1.xml", "/?sitemap=users", "/?author=1", "/?author=2",
        "/?author_name=" + logins[0], "/author/" + logins[0] + "/", "/author/" + logins[1] + "/",
        "/author/" + logins[0] + "/feed/", "/?feed=rss2&author=1", "/feed/", "/feed/atom/", "/?feed=rdf",
        "/comments/feed/", "/", "/wp-json/wp/v2/posts?_embed", "/wp-json/wp/v2/posts?_embed=author",
        *[f"/wp-json/wp/v2/posts/{i}?_embed" for i in ids], *[f"/?p={i}" for i in ids],
        "/wp-json/wp/v2/comments", "/wp-json/wp/v2/search?search=post",
    ]
    for url in post_urls:
        paths += [f"/wp-json/oembed/1.0/embed?url={url}", f"/wp-json/oembed/1.0/embed?url={url}&format=xml",
                  f"/?rest_route=/oembed/1.0/embed&url={url}"]
    found = []
    session = new_session(ca_file)
    for path in paths:
        r = session.get(stack_up.url(path=path), timeout=30, allow_redirects=False)
        seen = r.text + " " + r.headers.get("Location", "") + " " + r.headers.get("Link", "")
        # A page may echo the URL asked for (a feed's self link): that names
        # only what the client sent.
        named = leaks(seen.replace(stack_up.url(path=path), "").replace(path, ""), logins)
        if named:
            found.append(f"{path} -> {r.status_code} names {named}")
    for url in post_urls:
        r = session.get(url, timeout=30)
        if named := leaks(r.text, logins):
            found.append(f"{url} names {named}")
    assert not found, "login names disclosed to anonymous visitors:\n  " + "\n  ".join(found)


@pytest.mark.parametrize("path", ["/wp-json/wp/v2/users", "/?rest_route=/wp/v2/users", "/wp-json/wp/v2/users/1",
                                  "/wp-sitemap-users-1.xml", "/?author=1", "/?author=2"])
def test_user_listings_are_gone_for_visitors(http, stack_up, path):
    r = http.get(stack_up.url(path=path), timeout=30, allow_redirects=False)
    assert r.status_code in (401, 403, 404), f"{path} -> {r.status_code}, Location={r.headers.get('Location')}"


def test_administrator_still_lists_users_with_a_nonce(wordpress, admin_session):
    admin = admin_session
    r = admin.get(wordpress.url("/wp-json/wp/v2/users"), params={"context": "edit"},
                  headers={"X-WP-Nonce": wordpress.rest_nonce(admin)}, timeout=30)
    assert r.status_code == 200, f"the administrator cannot list users: {r.status_code} {r.text[:200]}"
    names = {user["username"] for user in r.json()}
    assert {wordpress.settings["WP_ADMIN_USER"], wordpress.settings["WP_USER"]} <= names, names


def login_failure(settings, ca_file, log: str) -> tuple[int, str]:
    session = new_session(ca_file)
    # The cookie wp-login.php's GET would set (one request less against the limit).
    session.cookies.set("wordpress_test_cookie", "WP Cookie check", domain=settings.domain)
    r = session.post(settings.url(path="/wp-login.php"), timeout=30, allow_redirects=False,
                     data={"log": log, "pwd": "not-the-password", "testcookie": "1"})
    return r.status_code, r.text.replace(log, "<NAME>")


def test_wrong_password_and_unknown_user_get_the_same_answer(stack_up, ca_file):
    domain = stack_up.domain
    pairs = [(stack_up["WP_ADMIN_USER"], f"nobody-{uuid.uuid4().hex[:6]}"),
             (stack_up["WP_USER"], f"ghost{uuid.uuid4().hex[:6]}"),
             (stack_up["WP_ADMIN_EMAIL"], f"nobody-{uuid.uuid4().hex[:6]}@{domain}")]
    for known, unknown in pairs:
        status_known, page_known = login_failure(stack_up, ca_file, known)
        status_unknown, page_unknown = login_failure(stack_up, ca_file, unknown)
        error = lambda page: re.search(r'<div id="login_error".*?</div>', page, re.S)
        assert status_known == status_unknown, f"{known}: {status_known} vs unknown: {status_unknown}"
        assert error(page_known) and error(page_unknown), "no login error shown"
        assert error(page_known).group(0) == error(page_unknown).group(0), (
            f"the error tells accounts apart:\n  {known}: {error(page_known).group(0)[:200]}\n"
            f"  unknown: {error(page_unknown).group(0)[:200]}")
        assert ("shake_error" in page_known) == ("shake_error" in page_unknown), "the form shakes for one only"
        assert page_known == page_unknown, f"the pages differ for {known} and an unknown name"


def test_lost_password_does_not_tell_accounts_apart(stack_up, ca_file):
    answers = {}
    for name in (stack_up["WP_ADMIN_USER"], stack_up["WP_ADMIN_EMAIL"], f"nobody{uuid.uuid4().hex[:6]}",
                 f"nobody{uuid.uuid4().hex[:6]}@{stack_up.domain}"):
        session = new_session(ca_file)
        r = session.post(stack_up.url(path="/wp-login.php?action=lostpassword"), timeout=30,
                         allow_redirects=False, data={"user_login": name, "redirect_to": "", "wp-submit": "Get New Password"})
        answers[name] = (r.status_code, r.headers.get("Location", ""), r.text.replace(name, "<NAME>"))
    assert len(set(answers.values())) == 1, "lost password answers differ: " + json.dumps(
        {name: [a[0], a[1], a[2][:150]] for name, a in answers.items()}, indent=1)


def test_rest_basic_auth_does_not_tell_accounts_apart(stack_up, ca_file):
    """Application passwords over the REST API: the same 401 for both."""
    answers = []
    for name in (stack_up["WP_ADMIN_USER"], f"nobody{uuid.uuid4().hex[:6]}"):
        token = base64.b64encode(f"{name}:abcd efgh ijkl mnop qrst uvwx".encode()).decode()
        r = new_session(ca_file).get(stack_up.url(path="/wp-json/wp/v2/users/me"), timeout=30,
                                     headers={"Authorization": f"Basic {token}"})
        answers.append((r.status_code, r.text))
    assert answers[0] == answers[1], f"REST answers differ: known {answers[0]} / unknown {answers[1]}"


def test_xmlrpc_does_not_tell_accounts_apart(stack_up, ca_file):
    answers = []
    for name in (stack_up["WP_ADMIN_USER"], f"nobody{uuid.uuid4().hex[:6]}"):
        body = (f"<?xml version='1.0'?><methodCall><methodName>wp.getUsersBlogs</methodName><params>"
                f"<param><value><string>{name}</string></value></param>"
                f"<param><value><string>not-the-password</string></value></param></params></methodCall>")
        r = new_session(ca_file).post(stack_up.url(path="/xmlrpc.php"), data=body, timeout=30)
        answers.append((r.status_code, r.text))
    assert answers[0] == answers[1], f"XML-RPC answers differ: {answers}"


# --- 9. no code through the dashboard ----------------------------------------

@pytest.mark.parametrize("path", ["/wp-admin/plugin-install.php", "/wp-admin/plugin-install.php?tab=upload",
                                  "/wp-admin/theme-install.php", "/wp-admin/theme-install.php?browse=popular",
                                  "/wp-admin/plugin-editor.php", "/wp-admin/theme-editor.php",
                                  "/wp-admin/update.php?action=upload-plugin",
                                  "/wp-admin/update.php?action=upload-theme"])
def test_administrator_cannot_install_or_edit_code(wordpress, admin_session, path):
    admin = admin_session
    r = admin.get(wordpress.url(path), timeout=30, allow_redirects=False)
    assert r.status_code == 403, f"the administrator reached {path}: {r.status_code}"


def test_administrator_cannot_upload_or_install_a_plugin(wordpress, admin_session):
    admin = admin_session
    nonce = wordpress.rest_nonce(admin)
    r = admin.post(wordpress.url("/wp-json/wp/v2/plugins"), json={"slug": "hello-dolly"}, timeout=30,
                   headers={"X-WP-Nonce": nonce})
    assert r.status_code == 403 and r.json().get("code") == "rest_cannot_install_plugin", (
        f"REST plugin install was not refused for lack of permission: {r.status_code} {r.text[:200]}")
    plugins = admin.get(wordpress.url("/wp-admin/plugins.php"), timeout=30)
    assert plugins.status_code == 200, f"the plugin list itself should still open: {plugins.status_code}"
    assert "plugin-install.php" not in plugins.text, "the dashboard still offers to add plugins"


# --- 11. versions and internal addresses -------------------------------------

@pytest.fixture(scope="module")
def wordpress_version(stack_up):
    version = exec_in(stack_up, "wordpress", ["php", "-r", "include '/var/www/html/wp-includes/version.php'; echo $wp_version;"])
    assert re.fullmatch(r"\d+\.\d+(\.\d+)?", version), version
    return version


@pytest.mark.parametrize("path", ["/", "/wp-login.php", "/wp-login.php?action=lostpassword", "/feed/",
                                  "/feed/atom/", "/?feed=rdf", "/comments/feed/", "/wp-links-opml.php",
                                  "/wp-json/", "/?p=1", "/hello-world/", "/no-such-page-here/"])
def test_wordpress_version_is_not_shown(http, stack_up, wordpress_version, path):
    r = http.get(stack_up.url(path=path), timeout=30)
    assert wordpress_version not in r.text, f"{path} shows the WordPress version {wordpress_version}"
    assert not re.search(r'<meta name="generator"|<generator|generator="WordPress', r.text, re.I), (
        f"{path} has a generator tag")


@pytest.mark.parametrize("path", ["/readme.html", "/license.txt", "/README.HTML", "/wp-admin/install.php",
                                  "/wp-includes/version.php", "/wp-content/plugins/akismet/readme.txt",
                                  "/wp-content/themes/twentytwentyfive/readme.txt"])
def test_version_files_are_not_served(http, stack_up, wordpress_version, path):
    r = http.get(stack_up.url(path=path), timeout=30)
    assert r.status_code in (403, 404) and wordpress_version not in r.text, f"{path} -> {r.status_code}"


@pytest.fixture(scope="module")
def adminer_version(stack_up):
    source = exec_in(stack_up, "adminer", ["grep", "-o", 'VERSION="[^"]*"', "/usr/share/adminer/adminer.php"])
    return source.strip().split('"')[1]


def test_adminer_login_page_hides_its_version(stack_up, ca_file, adminer_version):
    reply = raw(stack_up, ca_file, "/", host=f"adminer.{stack_up.domain}")
    assert reply.status == 200, reply
    assert adminer_version not in reply.text, f"Adminer's login page shows its version {adminer_version}"


def test_adminer_access_denied_names_no_internal_address(stack_up, ca_file):
    session = new_session(ca_file)
    url = stack_up.url(host=f"adminer.{stack_up.domain}")
    session.get(url, timeout=30)
    r = session.post(url, timeout=30, data={"auth[driver]": "server", "auth[server]": "mariadb",
                                            "auth[username]": stack_up["MYSQL_USER"],
                                            "auth[password]": "not-the-password", "auth[db]": ""})
    error = re.search(r"<div class='error'>(.*?)</div>", r.text, re.S)
    assert error, f"no error shown for a wrong password: {r.status_code} {r.text[:300]}"
    assert not re.search(r"\b\d{1,3}(?:\.\d{1,3}){3}\b", error.group(1)), (
        f"the error names an address: {error.group(1)}")


# --- 12. nginx's own errors on the todo API are JSON -------------------------

def assert_json_error(reply: Reply, status: int, what: str):
    assert reply.status == status, f"{what}: {reply!r}"
    assert reply.headers.get("Content-Type", "").startswith("application/json"), (
        f"{what}: Content-Type {reply.headers.get('Content-Type')!r}: {reply.text[:120]!r}")
    assert isinstance(json.loads(reply.text).get("error"), str), f"{what}: no error field: {reply.text[:120]}"


@pytest.mark.parametrize("method, path", [("POST", "/api/todos"), ("PATCH", "/api/todos/000000000000000000000000"),
                                          ("POST", "/api/auth/login"), ("POST", "/api/auth/register"),
                                          ("PUT", "/api/todos/x")])
def test_todo_body_too_large_is_json(stack_up, ca_file, method, path):
    reply = raw(stack_up, ca_file, path, host=f"todo.{stack_up.domain}", method=method,
                body=b"{" + b" " * (2 * 1024 * 1024) + b"}", headers={"Content-Type": "application/json"})
    assert_json_error(reply, 413, f"{method} {path} with 2 MB")


@pytest.mark.flood
def test_todo_rate_limit_answer_is_json(stack_up):
    """A write flood past the API's limit (200/s, bursts of 400), sent as
    curl's parallel HTTP/2 streams from inside the nginx container (from the
    host this shared machine is too slow to outrun the limit): every 429
    nginx answers is JSON."""
    host = f"todo.{stack_up.domain}"
    script = (
        "set -e; rm -rf /tmp/flood; "
        f"curl -s --http2 -Z --parallel-max 100 --cacert /run/secrets/ca.crt --resolve {host}:443:127.0.0.1 "
        "-X POST -H 'Content-Type: application/json' -d '{\"title\": \"flood\"}' "
        "--create-dirs --output-dir /tmp/flood -o 'answer-#1' -w '%{http_code} %{content_type} %{filename_effective}\\n' "
        f"'https://{host}/api/todos?n=[1-2000]'")
    try:
        lines = exec_in(stack_up, "nginx", ["sh", "-c", script]).splitlines()
        limited = [line.split() for line in lines if line.startswith("429")]
        assert limited, f"2000 parallel writes were never limited: {sorted({line[:3] for line in lines})}"
        not_json = [line for line in limited if len(line) < 3 or not line[1].startswith("application/json")]
        assert not not_json, f"{len(not_json)} of {len(limited)} 429 answers are not JSON: {not_json[:3]}"
        body = exec_in(stack_up, "nginx", ["cat", limited[0][-1]])
        assert isinstance(json.loads(body).get("error"), str), f"429 body without an error field: {body[:120]!r}"
    finally:
        compose.exec_in(stack_up, "nginx", ["rm", "-rf", "/tmp/flood"], timeout=30)
        time.sleep(3)  # the write zone drains


# --- PQ: hybrid post-quantum key exchange ------------------------------------

@pytest.mark.parametrize("group", list(GROUP_NAMES))
def test_key_exchange_groups(stack_up, group):
    """openssl s_client (the nginx image's OpenSSL, the library nginx uses)
    offering one group only completes a verified handshake on 443. Bookworm's
    OpenSSL 3.0 has no ML-KEM: there the group is unknown to the library, so
    nginx cannot offer it (documented in the README's suite table)."""
    result = compose.exec_in(stack_up, "nginx", [
        "openssl", "s_client", "-connect", "127.0.0.1:443", "-servername", stack_up.domain,
        "-groups", group, "-CAfile", "/run/secrets/ca.crt", "-verify_return_error", "-brief"],
        input=b"", timeout=30)
    output = (result.stdout + result.stderr).decode(errors="replace")
    if group == "X25519MLKEM768" and not suite_has(stack_up, "ml-kem"):
        assert result.returncode != 0 and "SSL_CONF_cmd(-groups, X25519MLKEM768) failed" in output, (
            f"{stack_up['DEBIAN_SUITE']}'s OpenSSL was expected not to know {group}:\n{output[-600:]}")
        return
    assert result.returncode == 0 and "Verification: OK" in output, f"{group} only: handshake failed:\n{output[-600:]}"
    assert negotiated_group(output) in GROUP_NAMES[group], f"{group} only: another group was used:\n{output[-600:]}"


def test_a_browser_like_client_gets_the_post_quantum_group(stack_up):
    """Browsers list X25519MLKEM768 first, then X25519: they get ML-KEM. (The
    client's order decides among shared groups: Mozilla's profile leaves
    server preference off.) Without ML-KEM (bookworm) they get X25519, their
    next choice; the group's absence is test_key_exchange_groups's."""
    offered, expected = "X25519MLKEM768:X25519:P-256", "X25519MLKEM768"
    if not suite_has(stack_up, "ml-kem"):
        offered, expected = "X25519:P-256", "X25519"
    result = compose.exec_in(stack_up, "nginx", [
        "openssl", "s_client", "-connect", "127.0.0.1:443", "-servername", stack_up.domain,
        "-groups", offered, "-CAfile", "/run/secrets/ca.crt", "-brief"],
        input=b"", timeout=30)
    output = (result.stdout + result.stderr).decode(errors="replace")
    assert negotiated_group(output) in GROUP_NAMES[expected], (
        f"a client offering {offered} did not get {expected}:\n{output[-600:]}")
