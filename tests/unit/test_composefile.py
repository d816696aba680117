"""Facts read from the compose file, and the policy tables checked against it."""

from pathlib import Path

import pytest

from inception import composefile, secrets
from tests import privileges
from inception.settings import Settings

SERVICES = composefile.spec()["services"]


def settings(**values):
    base = {"BIND_ADDRESS": "127.0.0.1", "HTTPS_PORT": "8443", "FTP_PORT": "2121",
            "FTP_PASV_MIN_PORT": "30000", "FTP_PASV_MAX_PORT": "30002"}
    return Settings({**base, **values}, Path("/x/.env"))


def test_published_ports_follow_the_settings_and_expand_ranges():
    ports = composefile.published_ports(settings())
    assert ("nginx", 8443) in ports and ("ftp", 2121) in ports
    assert [port for service, port in ports if service == "ftp" and port >= 30000] == [30000, 30001, 30002]
    assert {service for service, _ in ports} == {"nginx", "ftp"}, "only nginx and ftp publish ports"


def test_the_web_port_is_published_for_tcp_and_udp_alone():
    """HTTP/3 rides on UDP of the same port; nothing else publishes UDP."""
    sockets = composefile.published_sockets(settings())
    assert {(port, protocol) for service, port, protocol in sockets if service == "nginx"} == {
        (8443, "tcp"), (8443, "udp")}
    assert [s for s in sockets if s[2] == "udp"] == [("nginx", 8443, "udp")]


def test_a_udp_port_taken_by_another_program_is_reported(monkeypatch):
    import socket

    from inception import compose, stack

    monkeypatch.setattr(compose, "project_containers", lambda *a, **k: [])
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as other, \
            socket.socket(socket.AF_INET, socket.SOCK_STREAM) as free_tcp:
        other.bind(("127.0.0.1", 0))
        port = other.getsockname()[1]
        # Only UDP is taken: the TCP side of the same number must be free for the test to mean anything.
        free_tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        free_tcp.bind(("127.0.0.1", port))
        free_tcp.close()
        values = settings(HTTPS_PORT=str(port), FTP_PORT="0", FTP_PASV_MIN_PORT="0", FTP_PASV_MAX_PORT="0")
        with pytest.raises(stack.StackError, match=rf"port {port}/udp \(nginx\)"):
            stack.check_ports_free(None, values)


def test_every_store_volume_has_a_data_folder():
    assert sorted(composefile.data_subdirs()) == ["acme", "mariadb", "mongodb", "wordpress"]


@pytest.mark.parametrize("text, expected", [
    ("${HTTPS_PORT}", "8443"), ("${HTTPS_PORT:?set it}", "8443"), ("a-${FTP_PORT:-21}-b", "a-2121-b")])
def test_interpolation(text, expected):
    assert composefile.interpolate(text, settings().values) == expected


def test_generated_passwords_are_the_compose_secrets_outside_tls():
    files = composefile.secret_files()
    assert set(composefile.generated_passwords()) == {name for name, path in files.items() if "/" not in path}
    assert {files[name] for name in ("ca.crt", "server.crt", "server.key")} == {
        "tls/ca.crt", "tls/server.crt", "tls/server.key"}
    assert {"db_root_password", "db_password", "wp_admin_password", "ftp_password"} <= set(secrets.PASSWORDS), (
        f"the generated passwords miss the ones DESIGN.md names: {secrets.PASSWORDS}")


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_privilege_policy_matches_the_compose_file(service):
    spec = SERVICES[service]
    assert set(spec.get("cap_add") or []) == privileges.CAPABILITIES[service], (
        f"{service}: compose adds {spec.get('cap_add')}, the policy says {privileges.CAPABILITIES[service]}")
    assert spec.get("cap_drop") == ["ALL"], f"{service} keeps capabilities"
    writable = spec.get("read_only") is False
    assert writable == (service in privileges.WRITABLE_ROOT), f"{service}: read_only={spec.get('read_only')}"


def test_configuration_only_services_are_the_compose_files_profiled_ones():
    profiled = {name for name, wanted in composefile.service_profiles().items() if wanted}
    assert set(privileges.CONFIGURATION_ONLY) == profiled, (
        f"services behind a compose profile {sorted(profiled)}, the policy lists {sorted(privileges.CONFIGURATION_ONLY)}")
