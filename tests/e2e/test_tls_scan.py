"""sslyze against HTTPS and FTPS: Mozilla "intermediate" compliance (any
deviation fails) and session resumption without tickets."""

import subprocess
import sys

import pytest


def sslyze(ca, target, *args):
    # Certificates are checked against the project CA, as a client that
    # imported it does. vsftpd limits connections per address, so the FTPS
    # scan runs with sslyze's slow (fewer concurrent connections) mode.
    command = [sys.executable, "-m", "sslyze", "--mozilla_config=intermediate", "--resum",
               f"--certinfo_ca_file={ca}", *args, target]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    return result, result.stdout[-4000:] + result.stderr[-1000:]


@pytest.fixture(scope="module")
def https_scan(stack_up):
    return sslyze(stack_up.secrets_dir / "tls" / "ca.crt", f"{stack_up.domain}:{stack_up['HTTPS_PORT']}{{127.0.0.1}}")


@pytest.fixture(scope="module")
def ftps_scan(stack_up):
    return sslyze(stack_up.secrets_dir / "tls" / "ca.crt", f"{stack_up.domain}:{stack_up['FTP_PORT']}{{127.0.0.1}}", "--starttls=ftp", "--slow_connection")


@pytest.mark.parametrize("scan", ["https_scan", "ftps_scan"])
def test_mozilla_intermediate_compliance(request, scan):
    result, report = request.getfixturevalue(scan)
    assert result.returncode == 0 and "OK - Compliant" in result.stdout, (
        f"{scan} deviates from Mozilla intermediate:\n{report}")


@pytest.mark.parametrize("scan", ["https_scan", "ftps_scan"])
def test_no_session_tickets(request, scan):
    result, report = request.getfixturevalue(scan)
    assert "With TLS Tickets: NOT SUPPORTED" in result.stdout, f"{scan} issues session tickets:\n{report}"


def test_https_resumes_sessions_from_its_cache(https_scan):
    result, report = https_scan
    assert "With Session IDs: OK - Supported" in result.stdout, f"no session-ID resumption:\n{report}"
