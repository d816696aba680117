"""FTP: explicit FTPS onto the WordPress files, jailed, one account."""

import ftplib
import io
import ssl
import time
import uuid

import pytest

from .conftest import service_container, wait_until


class ReusingFTP_TLS(ftplib.FTP_TLS):
    """FTP_TLS whose data connections resume the control connection's TLS
    session, as vsftpd's require_ssl_reuse demands (CPython issue 63699)."""

    def ntransfercmd(self, cmd, rest=None):
        conn, size = ftplib.FTP.ntransfercmd(self, cmd, rest)
        if self._prot_p:
            conn = self.context.wrap_socket(conn, server_hostname=self.host, session=self.sock.session)
        return conn, size


def connect_tls(settings, ca_file, version=None):
    context = ssl.create_default_context(cafile=ca_file)
    if version:
        context.minimum_version = context.maximum_version = version
    client = ReusingFTP_TLS(context=context, timeout=20)
    client.connect(settings.domain, int(settings["FTP_PORT"]))
    return client


@pytest.fixture(params=[ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3], ids=["tls1.2", "tls1.3"])
def ftps(request, stack_up, ca_file, secret):
    client = connect_tls(stack_up, ca_file, request.param)
    client.login(stack_up["FTP_USER"], secret("ftp_password"))
    client.prot_p()
    yield client
    client.quit()


def test_login_over_tls_lists_the_wordpress_root(ftps):
    names = ftps.nlst()
    assert "wp-content" in names and "wp-config.php" in names, f"FTP root lists {names}"


def test_uploaded_file_is_served_over_https_then_deleted(ftps, http, stack_up):
    name = f"ftp-{uuid.uuid4().hex[:10]}.txt"
    payload = uuid.uuid4().bytes * 300
    ftps.storbinary(f"STOR {name}", io.BytesIO(payload))
    r = http.get(stack_up.url(path=f"/{name}"), timeout=30)
    assert r.status_code == 200 and r.content == payload, f"GET /{name} -> {r.status_code}, {len(r.content)} bytes"
    ftps.delete(name)
    r = http.get(stack_up.url(path=f"/{name}"), timeout=30)
    assert r.status_code == 404, f"deleted file still answers {r.status_code}"


def test_clear_text_data_connection_is_refused(stack_up, ca_file, secret):
    client = connect_tls(stack_up, ca_file)
    client.login(stack_up["FTP_USER"], secret("ftp_password"))
    client.prot_c()
    with pytest.raises(ftplib.error_perm) as refused:
        client.nlst()
    client.quit()
    assert str(refused.value)[:3] in ("521", "522"), f"clear data channel got: {refused.value}"


def test_parent_directory_does_not_escape_the_root(ftps):
    ftps.cwd("..")
    ftps.cwd("../../..")
    assert ftps.pwd() == "/", f"pwd after CWD .. is {ftps.pwd()}"
    assert "wp-content" in ftps.nlst(), "CWD .. left the WordPress files"
    with pytest.raises(ftplib.error_perm):
        ftps.cwd("/etc")


def test_plain_text_login_is_refused(stack_up, secret):
    client = ftplib.FTP(timeout=20)
    client.connect(stack_up.domain, int(stack_up["FTP_PORT"]))
    with pytest.raises(ftplib.error_perm) as refused:
        client.login(stack_up["FTP_USER"], secret("ftp_password"))
    client.close()
    assert str(refused.value).startswith("530") and "encryption" in str(refused.value).lower(), (
        f"plain login refused with an unclear reply: {refused.value}")


@pytest.mark.parametrize("user, password", [("FTP_USER", "wrong-password"), ("anonymous", "guest@example.com"),
                                            ("root", "x"), ("www-data", "x")])
def test_other_credentials_are_refused(stack_up, ca_file, secret, user, password):
    client = connect_tls(stack_up, ca_file)
    name = stack_up[user] if user == "FTP_USER" else user
    with pytest.raises(ftplib.error_perm) as refused:
        client.login(name, password)
    client.close()
    assert str(refused.value).startswith("530"), f"{name}: {refused.value}"


def test_media_uploaded_through_wordpress_can_be_replaced_by_ftp(ftps, wordpress, admin, http):
    original = b"GIF89a" + uuid.uuid4().bytes * 50
    r = admin.post(wordpress.url("/wp-json/wp/v2/media"), timeout=30, data=original,
                   headers={"X-WP-Nonce": wordpress.rest_nonce(admin), "Content-Type": "image/gif",
                            "Content-Disposition": f'attachment; filename="m{uuid.uuid4().hex[:8]}.gif"'})
    assert r.status_code == 201, f"media upload -> {r.status_code}: {r.text[:300]}"
    url = r.json()["source_url"]
    path = "/" + url.split("/", 3)[3]
    downloaded = io.BytesIO()
    ftps.retrbinary(f"RETR {path}", downloaded.write)
    assert downloaded.getvalue() == original, "FTP download differs from the WordPress upload"
    replacement = b"GIF89a" + uuid.uuid4().bytes * 60
    ftps.storbinary(f"STOR {path}", io.BytesIO(replacement))
    served = http.get(url, timeout=30)
    assert served.status_code == 200 and served.content == replacement, "FTP could not replace a WordPress upload"


def test_vsftpd_as_pid1_outlives_its_sessions(stack_up, ca_file, secret, docker_api):
    """Debian's vsftpd as PID 1 died when the first session ended (it reaped an
    orphan it did not know); the image's patch keeps it alive."""
    container = service_container(docker_api, "ftp")
    pid, restarts = container.attrs["State"]["Pid"], container.attrs["RestartCount"]
    for _ in range(3):
        session = connect_tls(stack_up, ca_file)
        session.login(stack_up["FTP_USER"], secret("ftp_password"))
        session.prot_p()
        session.nlst()
        session.quit()
    wait_until(lambda: container.reload() or container.attrs["State"]["Health"]["Status"] == "healthy", 30,
               "ftp to answer its healthcheck after the sessions")
    assert (container.attrs["State"]["Pid"], container.attrs["RestartCount"]) == (pid, restarts), (
        f"vsftpd died after its sessions: pid {pid} -> {container.attrs['State']['Pid']}, "
        f"restarts {restarts} -> {container.attrs['RestartCount']}")


@pytest.mark.disruptive
def test_docker_stop_ends_vsftpd_at_once(docker_api):
    """As PID 1 vsftpd has no default signal actions: it must handle SIGTERM
    itself, or `docker stop` waits out the grace period and kills it."""
    container = service_container(docker_api, "ftp")
    started = time.monotonic()
    container.stop(timeout=20)
    took = time.monotonic() - started
    container.reload()
    try:
        assert took < 5 and container.attrs["State"]["ExitCode"] == 0, (
            f"docker stop took {took:.1f}s, exit code {container.attrs['State']['ExitCode']} (137: killed)")
    finally:
        container.start()
        wait_until(lambda: container.reload() or container.attrs["State"].get("Health", {}).get("Status")
                   == "healthy", 120, "ftp to be healthy again")
