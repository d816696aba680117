"""End-to-end fixtures: the running stack, a verified HTTPS session, secrets.

The project's host names resolve to loopback inside this process only, so no
/etc/hosts edit is needed; TLS is always verified against secrets/tls/ca.crt.
"""

from __future__ import annotations

import re
import shlex
import socket
import subprocess
import sys
import time

import pytest
import requests

from inception import compose, secrets, settings as config, stack
from tests.loopback import names_to_loopback

ROOT = config.ROOT

# What the packages of each DEBIAN_SUITE can do, where the suites differ (the
# README's "Component versions per suite"). Tests of such a feature assert it
# on a suite that has it and its absence on one that has not, never skip.
SUITE_FEATURES = {
    # OpenSSL 3.5: hybrid post-quantum groups; nginx 1.26: QUIC and HTTP/3.
    "trixie": frozenset({"ml-kem", "http3"}),
    # OpenSSL 3.0 and nginx 1.22: neither.
    "bookworm": frozenset(),
}


# OpenSSL names a group differently in different lines of its output.
GROUP_NAMES = {"X25519MLKEM768": {"X25519MLKEM768"}, "X25519": {"X25519"},
               "P-256": {"P-256", "secp256r1", "prime256v1"}, "P-384": {"P-384", "secp384r1"}}


def negotiated_group(output: str) -> str | None:
    """The key exchange group of the handshake: OpenSSL 3.5's "Negotiated
    TLS1.3 group: X25519MLKEM768" (hybrids) or "Peer Temp Key: X25519, 253
    bits" / "Peer Temp Key: ECDH, prime256v1, 256 bits" (3.0: "Server Temp Key")."""
    for line in output.splitlines():
        if line.startswith("Negotiated TLS1.3 group:"):
            return line.split(":", 1)[1].strip()
    for line in output.splitlines():
        if line.startswith(("Peer Temp Key:", "Server Temp Key:")):
            parts = [part.strip() for part in line.split(":", 1)[1].split(",")]
            return parts[1] if parts[0] == "ECDH" else parts[0]
    return None


def suite_has(settings, feature: str) -> bool:
    """Whether the stack's Debian suite offers `feature` (see SUITE_FEATURES)."""
    return feature in SUITE_FEATURES[settings["DEBIAN_SUITE"]]


@pytest.fixture(scope="session")
def settings():
    try:
        return config.load()
    except config.SettingsError as exc:
        if "does not exist" in str(exc):
            return None
        pytest.fail(f"{exc}", pytrace=False)


@pytest.fixture(scope="session")
def docker_api():
    try:
        return compose.client()
    except compose.DockerError as exc:
        pytest.fail(str(exc), pytrace=False)


def all_healthy(api, settings) -> bool:
    wanted = set(stack.services(settings))
    healthy = {c.labels.get("com.docker.compose.service")
               for c in compose.project_containers(api, settings, all_=False)
               if stack.container_state(c) == ("running", "healthy")}
    return wanted <= healthy


def invoke(*args: str, env=None, check: bool = True, capture: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "-m", "invoke", *args], cwd=ROOT, env=env,
                            capture_output=capture, text=True, check=False)
    if check and result.returncode != 0:
        pytest.fail(f"invoke {' '.join(args)} -> exit {result.returncode}\n{result.stdout}\n{result.stderr}",
                    pytrace=False)
    return result


@pytest.fixture(scope="session")
def stack_up(request, docker_api, settings):
    """The stack, brought up (built if need be) when it is not healthy."""
    if settings is None or not all_healthy(docker_api, settings):
        capture = request.config.pluginmanager.getplugin("capturemanager")
        with capture.global_and_fixture_disabled():
            print("\nthe stack is not up: running `invoke up`", flush=True)
            invoke("up", capture=False)
        settings = config.load()
    return settings


@pytest.fixture(scope="session", autouse=True)
def resolve_to_loopback(request):
    """getaddrinfo answers 127.0.0.1 for the project's host names."""
    try:
        names = set(config.load(required=False).hostnames)
    except config.SettingsError:
        names = set()
    with names_to_loopback(names):
        yield


@pytest.fixture(scope="session")
def ca_file(stack_up):
    return str(stack_up.secrets_dir / "tls" / "ca.crt")


def new_session(ca_file: str) -> requests.Session:
    session = requests.Session()
    # REQUESTS_CA_BUNDLE in the environment would override `verify`.
    session.trust_env = False
    session.verify = ca_file
    return session


@pytest.fixture
def http(stack_up, ca_file):
    with new_session(ca_file) as session:
        yield session


@pytest.fixture(scope="session")
def secret(stack_up):
    return lambda name: secrets.read_secret(name, stack_up.secrets_dir)


def service_container(docker_api, service: str):
    """The running stack's container of a service (named with the instance's prefix)."""
    return docker_api.containers.get(config.load().container_name(service))


def redis_as(docker_api, user: str | None, *command: str, password_file="/run/secrets/redis_password",
             timeout: int = 5, check: bool = False) -> str:
    """redis-cli in the redis container as `user` (None: the bare AUTH <password>
    form, which means the `default` user), authenticated from a file inside the
    container; stdout and stderr. `check`: fail the test on a non-zero exit."""
    auth = f"--user {shlex.quote(user)}" if user else ""
    script = (f'REDISCLI_AUTH="$(<{password_file})" timeout {timeout} redis-cli --no-auth-warning '
              f'{auth} -h 127.0.0.1 "$@" 2>&1')
    result = service_container(docker_api, "redis").exec_run(["bash", "-c", script, "redis-cli", *command])
    output = result.output.decode(errors="replace").strip()
    assert not check or result.exit_code == 0, f"redis-cli {command} as {user}: {output[:300]}"
    return output


class WordPress:
    """Logged-in browsing of the site, as a user would with a browser."""

    def __init__(self, settings, ca_file):
        self.settings = settings
        self.ca_file = ca_file

    def url(self, path="/"):
        return self.settings.url(path=path)

    def login(self, user: str, password: str) -> requests.Session:
        session = new_session(self.ca_file)
        session.get(self.url("/wp-login.php"), timeout=30)  # sets the test cookie
        r = session.post(self.url("/wp-login.php"), timeout=30, allow_redirects=False, data={
            "log": user, "pwd": password, "wp-submit": "Log In",
            "redirect_to": self.url("/wp-admin/"), "testcookie": "1",
        })
        assert r.status_code == 302 and "/wp-admin/" in r.headers.get("Location", ""), (
            f"login of {user} failed: POST wp-login.php -> {r.status_code}, "
            f"Location={r.headers.get('Location')!r}, body: {r.text[:300]}")
        return session

    def rest_nonce(self, session: requests.Session) -> str:
        r = session.get(self.url("/wp-admin/admin-ajax.php"), params={"action": "rest-nonce"}, timeout=30)
        assert r.status_code == 200 and re.fullmatch(r"[0-9a-f]{10}", r.text), (
            f"no REST nonce for the logged-in user: {r.status_code} {r.text[:200]}")
        return r.text

    def create_post(self, session: requests.Session, title: str, content: str = "") -> dict:
        r = session.post(self.url("/wp-json/wp/v2/posts"), timeout=30,
                         headers={"X-WP-Nonce": self.rest_nonce(session)},
                         json={"title": title, "content": content or title, "status": "publish"})
        assert r.status_code == 201, f"creating a post -> {r.status_code}: {r.text[:300]}"
        return r.json()


@pytest.fixture
def wordpress(stack_up, ca_file):
    return WordPress(stack_up, ca_file)


@pytest.fixture
def admin(wordpress, secret):
    return wordpress.login(wordpress.settings["WP_ADMIN_USER"], secret("wp_admin_password"))


def assert_internal_only(docker_api, name: str, network, port: int) -> None:
    """The service publishes nothing, sits on exactly the given internal
    network(s) (a name or a list of compose network names), and nothing
    answers on its port at the host's loopback."""
    container = service_container(docker_api, name)
    published = [b for b in (container.attrs["NetworkSettings"]["Ports"] or {}).values() if b]
    assert not published, f"{name} publishes {published}"
    networks = sorted(container.attrs["NetworkSettings"]["Networks"])
    project = container.labels["com.docker.compose.project"]
    wanted = [network] if isinstance(network, str) else list(network)
    assert networks == sorted(f"{project}_{n}" for n in wanted), f"{name} is on {networks}, expected {wanted}"
    for joined in networks:
        assert docker_api.networks.get(joined).attrs["Internal"] is True, f"{joined} has a route out"
    with socket.socket() as probe:
        probe.settimeout(3)
        assert probe.connect_ex(("127.0.0.1", port)) != 0, f"something answers on 127.0.0.1:{port}"


def kill_main_process(docker_api, name):
    """SIGKILL from the host to the container's main process: a crash, which
    the restart policy answers (`docker kill` counts as a manual stop)."""
    import os
    import signal

    container = service_container(docker_api, name)
    restarts, pid = container.attrs["RestartCount"], container.attrs["State"]["Pid"]
    os.kill(pid, signal.SIGKILL)
    return container, restarts, pid


def wait_restarted_and_healthy(container, restarts, pid, timeout=180):
    def healthy_again():
        container.reload()
        state = container.attrs["State"]
        return (container.attrs["RestartCount"] > restarts and state["Pid"] not in (0, pid)
                and state.get("Health", {}).get("Status") == "healthy")

    wait_until(healthy_again, timeout, f"{container.name} to restart by itself and become healthy")


def crash(docker_api, name):
    """Crash a service and wait until it is back, by itself, healthy."""
    wait_restarted_and_healthy(*kill_main_process(docker_api, name))


def run_once(docker_api, image: str, command: list[str], stderr: bool = False, **kwargs) -> bytes:
    """Run a one-off container and return its output (stdout; with stderr
    too when asked); its anonymous volumes (images that declare VOLUME) go
    with it, unlike with `run(remove=True)`."""
    # Created, then started inside the try: a container that fails to start
    # (e.g. its network namespace's container is gone) is removed too.
    container = docker_api.containers.create(image, command, **kwargs)
    try:
        container.start()
        container.wait(timeout=120)
        return container.logs(stdout=True, stderr=stderr)
    finally:
        container.remove(force=True, v=True)


def wait_for_log(container, since: int, text: str, timeout: float = 20) -> str:
    """A container's log since `since` once it holds `text` (lines reach the
    log driver a moment after the request that wrote them)."""
    def logs_with_text():
        logs = container.logs(since=since).decode(errors="replace")
        return logs if text in logs else None

    return wait_until(logs_with_text, timeout, f"{text!r} in the log of {container.name}", interval=0.5)


def wait_until(predicate, timeout: float, what: str, interval: float = 1.0):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}", pytrace=False)
        time.sleep(interval)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """On failure, attach the last lines of every service's log to the report."""
    outcome = yield
    report = outcome.get_result()
    if report.when != "call" or not report.failed:
        return
    try:
        settings = config.load()
        for service in stack.services(settings):
            report.sections.append((f"compose logs {service}", stack.tail_logs(settings, service, 30)))
    except Exception as exc:  # the report must not fail because logs are unavailable
        report.sections.append(("compose logs", f"unavailable: {exc}"))


ARTIFACTS = ROOT / "artifacts"


@pytest.fixture(scope="session")
def browser(stack_up, ca_file, tmp_path_factory):
    """Debian's headless Chromium, trusting the project CA through its own NSS
    database (so TLS is verified as for a user who imported the CA)."""
    import os
    import shutil

    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium")
    certutil = shutil.which("certutil")
    if not chromium or not certutil:
        pytest.fail("browser tests need Debian's chromium and libnss3-tools: "
                    "apt-get install chromium libnss3-tools", pytrace=False)
    home = tmp_path_factory.mktemp("chromium-home")
    nssdb = home / ".pki" / "nssdb"
    nssdb.mkdir(parents=True)
    subprocess.run([certutil, "-d", f"sql:{nssdb}", "-N", "--empty-password"], check=True)
    subprocess.run([certutil, "-d", f"sql:{nssdb}", "-A", "-t", "C,,", "-n", "inception-ca", "-i", ca_file],
                   check=True)
    rules = ", ".join(f"MAP {host} 127.0.0.1" for host in stack_up.hostnames)
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=chromium, env={**os.environ, "HOME": str(home)},
            args=["--no-sandbox", f"--host-resolver-rules={rules}", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"])
        yield instance
        instance.close()


class PageWatch:
    """A page that records console errors, page errors and failed requests."""

    def __init__(self, page):
        self.page = page
        self.problems = []
        page.on("console", lambda msg: msg.type == "error" and self.problems.append(f"console: {msg.text}"))
        page.on("pageerror", lambda exc: self.problems.append(f"page error: {exc}"))
        page.on("requestfailed", lambda req: self.problems.append(f"failed: {req.url} {req.failure}"))
        page.on("response", lambda res: res.status >= 400 and self.problems.append(f"HTTP {res.status}: {res.url}"))

    def screenshot(self, name: str) -> None:
        ARTIFACTS.mkdir(exist_ok=True)
        self.page.screenshot(path=str(ARTIFACTS / name), full_page=True)


@pytest.fixture
def page(browser):
    context = browser.new_context()
    watched = PageWatch(context.new_page())
    yield watched
    context.close()


def todo_url(settings, path: str = "") -> str:
    return settings.url(host=f"todo.{settings.domain}", path=path)


def todo_account(settings, ca_file: str, prefix: str = "user") -> requests.Session:
    """A new todo account (a unique name, so rate limits and lists never mix
    between tests), signed in: the session carries its cookie. Its name and
    password are on the session as todo_username / todo_password."""
    import uuid

    session = new_session(ca_file)
    session.todo_username = f"{prefix}-{uuid.uuid4().hex[:12]}"
    session.todo_password = uuid.uuid4().hex
    r = session.post(todo_url(settings, "/api/auth/register"), timeout=30,
                     json={"username": session.todo_username, "password": session.todo_password})
    assert r.status_code == 201, f"registering {session.todo_username} -> {r.status_code}: {r.text[:200]}"
    return session


@pytest.fixture
def todo_session(stack_up, ca_file):
    """A signed-in todo account of its own."""
    with todo_account(stack_up, ca_file) as session:
        yield session
