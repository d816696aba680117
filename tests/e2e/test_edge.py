"""The edge: HTTP/3 beside HTTP/1.1 and HTTP/2 on the one web port, and
connections to the apps that survive an app's crash."""

import itertools
import os
import threading
import time
import uuid

import pytest
import requests

from inception import compose

from .conftest import kill_main_process, new_session, run_once, suite_has, wait_restarted_and_healthy, wait_until

VHOSTS = ["", "adminer.", "static.", "todo."]


def curl_from_image(docker_api, settings, ca_file, args: str) -> dict[str, str]:
    """curl (the nginx image's: Debian 13's speaks HTTP/3) against the published
    port, once per virtual host, verified against the project CA; its
    --write-out line per host."""
    port = settings["HTTPS_PORT"]
    hosts = " ".join(prefix + settings.domain for prefix in VHOSTS)
    script = (f'for host in {hosts}; do printf "%s " "$host"; '
              f'curl --silent --show-error --max-time 20 --cacert /ca.crt --resolve "$host:{port}:127.0.0.1" '
              f'--output /dev/null {args} "https://$host:{port}/" 2>&1 || echo; done')
    out = run_once(docker_api, f"nginx:{compose.IMAGE_TAG}", ["-c", script], entrypoint="bash", network_mode="host",
                   volumes={ca_file: {"bind": "/ca.crt", "mode": "ro"}}).decode(errors="replace")
    return dict(line.split(" ", 1) for line in out.strip().splitlines() if " " in line)


def test_every_site_answers_over_http3_with_a_verified_certificate(docker_api, stack_up, ca_file):
    answers = curl_from_image(docker_api, stack_up, ca_file, "--http3-only --write-out '%{http_version} %{http_code}\\n'")
    if suite_has(stack_up, "http3"):
        wrong = {host: answer for host, answer in answers.items() if answer.strip() != "3 200"}
        assert len(answers) == len(VHOSTS) and not wrong, (
            f"over HTTP/3 (UDP {stack_up['HTTPS_PORT']}) these sites did not answer 200: {wrong or answers}")
    else:
        # bookworm's curl has no HTTP/3 either: what counts is that nginx has no QUIC.
        version = run_once(docker_api, f"nginx:{compose.IMAGE_TAG}", ["-V"], entrypoint="nginx", stderr=True)
        assert b"nginx version" in version, f"nginx -V printed no version: {version[:200]!r}"
        assert b"http_v3_module" not in version, "this suite's nginx was expected to have no HTTP/3"


def test_every_site_advertises_http3_on_the_published_port_over_http2(docker_api, stack_up, ca_file):
    answers = curl_from_image(docker_api, stack_up, ca_file,
                              "--http2 --write-out '%{http_version} %header{alt-svc}\\n'")
    expected = f'h3=":{stack_up["HTTPS_PORT"]}"; ma=86400' if suite_has(stack_up, "http3") else ""
    wrong = {host: answer for host, answer in answers.items() if answer.strip() != f"2 {expected}".strip()}
    assert len(answers) == len(VHOSTS) and not wrong, (
        f"expected HTTP/2 with Alt-Svc {expected or '(none)'!r} on every site, got {wrong or answers}")


def process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.parametrize("app, path, answer", [("static", "/", 200), ("todo", "/api/auth/me", 401)])
def test_a_crashed_app_is_served_again_through_kept_alive_connections(docker_api, stack_up, ca_file, app, path,
                                                                      answer):
    """nginx keeps connections to the static site and the todo app open, with
    the address it loaded. Clients stream requests while the app's main process
    is SIGKILLed: only requests made while the app is down may fail, each with
    a gateway error (no hang); once the app is healthy again every request is
    answered (no connection to the dead process, no stale address is kept)."""
    url = f"https://{app}.{stack_up.domain}:{stack_up['HTTPS_PORT']}{path}"
    stop = threading.Event()
    results = []  # (started, finished, status or error), monotonic seconds
    probes = itertools.count()

    def client():
        with new_session(ca_file) as session:
            while not stop.is_set():
                began = time.monotonic()
                try:
                    # A new query each time: past the static site's
                    # micro-cache, to the app itself.
                    status = session.get(url, params={"probe": next(probes)}, timeout=30).status_code
                except requests.RequestException as exc:
                    status = type(exc).__name__
                results.append((began, time.monotonic(), status))

    clients = [threading.Thread(target=client) for _ in range(4)]
    for thread in clients:
        thread.start()
    try:
        time.sleep(2)
        killed = time.monotonic()
        container, restarts, pid = kill_main_process(docker_api, app)
        # The kernel takes a moment to end every process of the container: a
        # request that reached the app before then is in flight at the kill.
        wait_until(lambda: not process_exists(pid), 10, f"{app}'s main process to be gone", interval=0.005)
        signalled = time.monotonic()
        wait_restarted_and_healthy(container, restarts, pid)
        healthy = time.monotonic()
        time.sleep(3)
    finally:
        stop.set()
        for thread in clients:
            thread.join()

    def when(t):
        return round(t - killed, 2)

    before = [(when(a), status) for a, b, status in results if b < killed and status != answer]
    after = [(when(a), status) for a, b, status in results if a >= healthy and status != answer]
    # Requests in flight at the kill may end any way (cut mid-answer); those
    # sent after it must get a prompt gateway error.
    during = [(when(a), when(b), status) for a, b, status in results if a > signalled and a < healthy
              and status != answer]
    assert not before, f"requests failed before {app} was killed: {before[:5]}"
    assert not after, (f"{app} was healthy again {when(healthy)} s after the kill, yet {len(after)} later requests "
                       f"failed (a dead connection or a stale address kept by nginx?): {after[:5]}")
    assert sum(1 for a, b, status in results if a >= healthy) >= 20, "too few requests after the restart to tell"
    not_gateway = [failure for failure in during if failure[2] not in (502, 504)]
    assert not not_gateway, f"while {app} was down, requests failed other than with 502/504: {not_gateway[:5]}"


def test_nginx_starts_while_an_app_is_down_and_serves_it_once_back(docker_api, stack_up, ca_file):
    """An `upstream` name that does not resolve would stop nginx from starting
    (the whole edge down for one app): nginx starts without it, answers 502
    for that site, serves it per request as soon as it is back, and a reload
    (what `invoke up` does) brings the kept-alive path back."""
    from inception import stack

    url = f"https://static.{stack_up.domain}:{stack_up['HTTPS_PORT']}/"
    static, nginx = (docker_api.containers.get(stack_up.container_name(name)) for name in ("static", "nginx"))

    def healthy(container):
        container.reload()
        return container.attrs["State"].get("Health", {}).get("Status") == "healthy"

    static.stop()
    try:
        nginx.restart()
        wait_until(lambda: healthy(nginx), 120, "nginx to start and become healthy while static is down")
        with new_session(ca_file) as http:
            # A page never cached: nothing stale to serve in its place.
            fresh = http.get(url, params={"probe": uuid.uuid4().hex}, timeout=30)
            assert fresh.status_code == 502, f"static is stopped: expected a 502 from nginx, got {fresh.status_code}"
    finally:
        static.start()
    wait_until(lambda: healthy(static), 120, "static to become healthy again")
    with new_session(ca_file) as http:
        answers = [http.get(url, timeout=30).status_code for _ in range(5)]
        assert answers == [200] * 5, f"static is back, nginx should serve it (per-request lookup): {answers}"
        assert stack.refresh_proxy(docker_api, stack_up), "static started after nginx: invoke up's refresh should reload"
        rendered = compose.exec_in(stack_up, "nginx", ["cat", "/run/nginx/sites/static.conf"]).stdout.decode()
        assert "server static:8080;" in rendered, "after the reload the kept-alive upstream should name static again"
        answers = [http.get(url, timeout=30).status_code for _ in range(5)]
        assert answers == [200] * 5, f"after nginx's reload: {answers}"


def test_the_static_site_is_served_from_the_edge_micro_cache_and_stale_while_it_restarts(docker_api, stack_up,
                                                                                          ca_file):
    """The edge keeps each static page a second (the site changes only with its
    image): a repeated request is a HIT with the site's own headers, and a
    SIGKILLed static container costs visitors nothing (stale copies)."""
    url = f"https://static.{stack_up.domain}:{stack_up['HTTPS_PORT']}/"
    with new_session(ca_file) as http:
        # Right after a reload (an earlier test's), old workers may still
        # answer through the per-request fallback, which has no cache.
        wait_until(lambda: "X-Cache" in http.get(url, timeout=30).headers, 15,
                   "the edge to serve the static site through its cached location")
        first, second = http.get(url, timeout=30), http.get(url, timeout=30)
        assert first.status_code == second.status_code == 200, (first.status_code, second.status_code)
        assert second.headers.get("X-Cache") in ("HIT", "UPDATING", "STALE"), (
            f"a repeated request was not served from the edge's cache: X-Cache={second.headers.get('X-Cache')}")
        assert second.headers.get("Cache-Control") == "no-cache", (
            f"browsers must still be told to revalidate: Cache-Control={second.headers.get('Cache-Control')}")
        assert "default-src 'self'" in second.headers.get("Content-Security-Policy", ""), (
            "the cached answer lost the static site's Content-Security-Policy")
        assert second.content == first.content, "the cached page differs from the site's"
        container, restarts, pid = kill_main_process(docker_api, "static")
        answers = []
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            answers.append(http.get(url, timeout=30).status_code)
        wait_restarted_and_healthy(container, restarts, pid)
        assert set(answers) == {200}, f"while static restarted, visitors got {sorted(set(answers))}, not stale pages"
