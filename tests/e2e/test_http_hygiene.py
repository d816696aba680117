"""nginx against hostile or careless clients: slow, oversized, malformed, floods."""

import socket
import ssl
import threading
import time

import pytest

from .conftest import service_container, wait_until


def tls_socket(settings, ca_file, timeout=30):
    context = ssl.create_default_context(cafile=ca_file)
    context.set_alpn_protocols(["http/1.1"])
    raw = socket.create_connection(("127.0.0.1", int(settings["HTTPS_PORT"])), timeout=timeout)
    return context.wrap_socket(raw, server_hostname=settings.domain)


def read_reply(sock) -> bytes:
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except (ConnectionResetError, ssl.SSLError, socket.timeout):
        pass
    return data


def status_of(reply: bytes) -> int:
    return int(reply.split(b" ", 2)[1]) if reply.startswith(b"HTTP/1.1 ") else 0


def test_slow_loris_is_cut_off_while_others_are_served(stack_up, ca_file, http):
    """A client that sends its headers a byte at a time is dropped after
    client_header_timeout (10 s); meanwhile normal requests are answered."""
    started = time.monotonic()
    outcome = {}

    def slow_client():
        with tls_socket(stack_up, ca_file) as sock:
            sock.sendall(f"GET / HTTP/1.1\r\nHost: {stack_up.domain}\r\n".encode())
            try:
                for _ in range(40):  # would take 40 s if nobody stopped it
                    sock.sendall(b"X-Slow: a\r\n")
                    time.sleep(1)
                outcome["reply"] = b"not cut off"
            except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
                pass
            outcome.setdefault("reply", read_reply(sock))
        outcome["after"] = time.monotonic() - started

    thread = threading.Thread(target=slow_client)
    thread.start()
    for _ in range(5):
        assert http.get(stack_up.url(), timeout=30).status_code == 200, "normal requests suffered"
        time.sleep(1)
    thread.join(timeout=45)
    assert outcome.get("reply") != b"not cut off", "the slow client was never cut off"
    assert outcome["after"] < 20, f"the slow client was cut off only after {outcome['after']:.0f} s"
    assert status_of(outcome["reply"]) in (0, 408), f"answered {outcome['reply'][:60]!r}"


def test_16_kb_header_gets_400(stack_up, ca_file):
    with tls_socket(stack_up, ca_file) as sock:
        sock.sendall(f"GET / HTTP/1.1\r\nHost: {stack_up.domain}\r\nX-Big: {'a' * 16384}\r\n"
                     "Connection: close\r\n\r\n".encode())
        reply = read_reply(sock)
    assert status_of(reply) in (400, 414, 431), f"16 KB header got {reply[:80]!r}"


@pytest.mark.parametrize("request_line", [b"GARBAGE\r\n\r\n", b"GET /\x00 HTTP/1.1\r\n\r\n",
                                          b"GET / HTTP/1.x\r\nHost: x\r\n\r\n", b"GET / HTTP/1.1\r\n\r\n"])
def test_malformed_requests_get_a_clean_4xx(stack_up, ca_file, request_line):
    with tls_socket(stack_up, ca_file, timeout=15) as sock:
        sock.sendall(request_line)
        reply = read_reply(sock)
    assert 400 <= status_of(reply) < 500, f"{request_line!r} got {reply[:80]!r}"


def test_upload_of_2_mb_media_succeeds(wordpress, admin):
    body = b"GIF89a" + b"\0" * (2 * 1024 * 1024)
    r = admin.post(wordpress.url("/wp-json/wp/v2/media"), data=body, timeout=60,
                   headers={"X-WP-Nonce": wordpress.rest_nonce(admin), "Content-Type": "image/gif",
                            "Content-Disposition": 'attachment; filename="two-megabytes.gif"'})
    assert r.status_code == 201, f"2 MB upload -> {r.status_code}: {r.text[:200]}"


def test_body_above_the_upload_limit_gets_413(stack_up, ca_file):
    """nginx answers from the Content-Length alone, before reading a byte of body."""
    with tls_socket(stack_up, ca_file, timeout=15) as sock:
        sock.sendall(f"POST /wp-json/wp/v2/media HTTP/1.1\r\nHost: {stack_up.domain}\r\n"
                     f"Content-Type: image/gif\r\nContent-Length: {65 * 1024 * 1024}\r\n\r\n".encode())
        reply = read_reply(sock)
    assert status_of(reply) == 413, f"65 MB body got {reply[:80]!r}"


@pytest.mark.disruptive
@pytest.mark.flood
def test_login_flood_is_limited_then_recovers(stack_up, ca_file, http):
    url = stack_up.url(path="/wp-login.php")
    statuses = [http.post(url, data={"log": "nobody", "pwd": "x"}, timeout=30).status_code for _ in range(40)]
    assert 429 in statuses, f"40 rapid login attempts were never limited: {sorted(set(statuses))}"
    assert all(code in (200, 429) for code in statuses), f"unexpected answers: {sorted(set(statuses))}"
    wait_until(lambda: http.get(url, timeout=30).status_code == 200, 30, "the login page to answer again")


def test_access_log_keeps_pages_and_failures_not_static_hits(stack_up, docker_api, http):
    """The access log (docker logs nginx) records every page view and every
    failed request; files served from disk are logged only when they fail."""
    marker = f"log{time.time_ns()}"
    since = int(time.time()) - 1
    page = http.get(stack_up.url(path=f"/?{marker}=page"), timeout=30)
    asset = http.get(stack_up.url(path=f"/wp-includes/css/dashicons.min.css?{marker}=asset"), timeout=30)
    svg = http.get(stack_up.url(path=f"/wp-admin/images/wordpress-logo.svg?{marker}=svg"), timeout=30)
    missing = http.get(stack_up.url(path=f"/no-such-file-{marker}.css"), timeout=30)
    denied = http.get(stack_up.url(path=f"/.htaccess?{marker}=denied"), timeout=30)
    assert (page.status_code, asset.status_code, svg.status_code) == (200, 200, 200), "fixtures not served"
    assert (missing.status_code, denied.status_code) == (404, 403), "failures not answered as such"
    nginx = service_container(docker_api, "nginx")

    def logged():
        lines = [line for line in nginx.logs(since=since).decode(errors="replace").splitlines() if marker in line]
        return lines if len(lines) >= 3 else None

    lines = wait_until(logged, timeout=10, what="the page view and both failures in nginx's access log")
    text = "\n".join(lines)
    assert f"{marker}=page" in text, f"page view not logged:\n{text}"
    assert f"no-such-file-{marker}" in text and f"{marker}=denied" in text, f"failures not logged:\n{text}"
    assert f"{marker}=asset" not in text and f"{marker}=svg" not in text, f"static hits logged:\n{text}"
