"""nginx: the only entry point, HTTPS with TLS 1.2/1.3, HTTP/2, verified certificate."""

import socket
import ssl

import pytest


def handshake(settings, ca_file, host=None, version=None, alpn=None):
    """A TLS handshake to the published port; returns the wrapped socket's facts."""
    context = ssl.create_default_context(cafile=ca_file)
    if version is not None:
        # The client allows old versions so that a refusal is the server's.
        context.set_ciphers("DEFAULT:@SECLEVEL=0")
        context.minimum_version = version
        context.maximum_version = version
    if alpn:
        context.set_alpn_protocols(alpn)
    host = host or settings.domain
    with socket.create_connection(("127.0.0.1", int(settings["HTTPS_PORT"])), timeout=10) as raw:
        with context.wrap_socket(raw, server_hostname=host) as tls:
            return {"version": tls.version(), "alpn": tls.selected_alpn_protocol(), "cert": tls.getpeercert()}


def test_home_page_answers_with_site_title(http, stack_up):
    r = http.get(stack_up.url(), timeout=30)
    assert r.status_code == 200, f"GET {stack_up.url()} -> {r.status_code}: {r.text[:200]}"
    title = stack_up["WP_TITLE"]
    assert f"<title>{title}" in r.text, f"the site title {title!r} is not in the page's <title>: {r.text[:300]}"


@pytest.mark.filterwarnings("ignore:ssl.TLSVersion.TLSv1_1 is deprecated:DeprecationWarning")
def test_tls11_handshake_is_refused(stack_up, ca_file):
    with pytest.raises(ssl.SSLError) as refused:
        handshake(stack_up, ca_file, version=ssl.TLSVersion.TLSv1_1)
    assert "PROTOCOL_VERSION" in str(refused.value).upper() or "UNSUPPORTED_PROTOCOL" in str(refused.value).upper(), (
        f"TLS 1.1 failed, but not with a protocol-version refusal: {refused.value}")


@pytest.mark.parametrize("version, name", [(ssl.TLSVersion.TLSv1_2, "TLSv1.2"), (ssl.TLSVersion.TLSv1_3, "TLSv1.3")])
def test_modern_tls_handshake_succeeds(stack_up, ca_file, version, name):
    facts = handshake(stack_up, ca_file, version=version)
    assert facts["version"] == name, f"asked for {name}, negotiated {facts['version']}"


def test_alpn_offers_h2(stack_up, ca_file):
    facts = handshake(stack_up, ca_file, alpn=["h2", "http/1.1"])
    assert facts["alpn"] == "h2", f"ALPN selected {facts['alpn']!r}, expected 'h2'"


def test_certificate_covers_every_host_name(stack_up, ca_file):
    for host in stack_up.hostnames:
        facts = handshake(stack_up, ca_file, host=host)  # verification fails on a name mismatch
        names = {value for kind, value in facts["cert"]["subjectAltName"] if kind == "DNS"}
        assert host in names or f"*.{stack_up.domain}" in names, f"{host} not in the certificate's SANs {names}"


def test_security_headers_are_sent(http, stack_up):
    r = http.get(stack_up.url(), timeout=30)
    expected = {
        "Strict-Transport-Security": "max-age=63072000",
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "SAMEORIGIN",
        "Referrer-Policy": "strict-origin-when-cross-origin",
    }
    missing = {k: r.headers.get(k) for k, v in expected.items() if r.headers.get(k) != v}
    assert not missing, f"security headers missing or different: {missing}"
    assert r.headers.get("Server") == "nginx", f"Server header reveals a version: {r.headers.get('Server')!r}"
    assert "X-Powered-By" not in r.headers, f"PHP announces itself: {r.headers.get('X-Powered-By')!r}"


def test_unknown_host_name_gets_no_site(stack_up, ca_file):
    context = ssl.create_default_context(cafile=ca_file)
    with socket.create_connection(("127.0.0.1", int(stack_up["HTTPS_PORT"])), timeout=10) as raw:
        with context.wrap_socket(raw, server_hostname=stack_up.domain) as tls:
            tls.sendall(b"GET / HTTP/1.1\r\nHost: elsewhere.example\r\nConnection: close\r\n\r\n")
            reply = tls.recv(200).decode(errors="replace")
    assert reply.startswith("HTTP/1.1 421"), f"a foreign Host header got: {reply.splitlines()[0]!r}"


def test_plain_http_is_not_served(stack_up):
    """Port 443 speaks only TLS; no clear-text HTTP port is published (checked in test_isolation)."""
    with socket.create_connection(("127.0.0.1", int(stack_up["HTTPS_PORT"])), timeout=10) as raw:
        raw.sendall(f"GET / HTTP/1.1\r\nHost: {stack_up.domain}\r\nConnection: close\r\n\r\n".encode())
        reply = b""
        while chunk := raw.recv(65536):  # the whole answer, until nginx closes
            reply += chunk
    assert reply.startswith(b"HTTP/1.1 400"), f"clear HTTP did not get nginx's 400: {reply[:120]!r}"
    assert stack_up["WP_TITLE"].encode() not in reply, f"clear HTTP got the site: {reply[:300]!r}"
