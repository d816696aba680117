"""Generated secrets: passwords and the local certificate authority.

Every file is created 0600 inside a 0700 directory and never overwritten once
it exists; the only exception is the server certificate, which is re-issued
(by the same CA) when it no longer covers the configured host names.
"""

from __future__ import annotations

import os
import secrets as random
import subprocess
import tempfile
from pathlib import Path

from . import composefile
from .errors import InceptionError
from .settings import ROOT

SECRETS_DIR = ROOT / "secrets"

# One random value per file: every compose secret outside tls/ (the compose
# file is where a secret is declared; it is not listed again here).
PASSWORDS = tuple(composefile.generated_passwords())

CA_DAYS = 3650
# Mozilla's TLS guidelines allow at most 366 days (browsers refuse more than 398).
SERVER_DAYS = 365


class SecretsError(InceptionError):
    pass


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def new_password() -> str:
    # URL-safe characters only: no quoting trouble in SQL, FTP or config files.
    return random.token_urlsafe(24)


def _openssl(*args: str, stdin: bytes | None = None) -> bytes:
    try:
        result = subprocess.run(["openssl", *args], input=stdin, capture_output=True, check=False)
    except FileNotFoundError:
        raise SecretsError("openssl is not installed; install it (apt-get install openssl) and retry") from None
    if result.returncode != 0:
        raise SecretsError(f"openssl {args[0]} failed: {result.stderr.decode(errors='replace').strip()}")
    return result.stdout


def _ec_key(path: Path) -> None:
    # ECDSA P-256: fast handshakes, accepted by every current client.
    _write_private(path, _openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"))


def certificate_names(cert: Path) -> set[str]:
    """The DNS names in a certificate's subjectAltName."""
    text = _openssl("x509", "-in", str(cert), "-noout", "-ext", "subjectAltName").decode()
    return {part.strip()[4:] for part in text.replace("\n", ",").split(",") if part.strip().startswith("DNS:")}


def _issue_ca(tls: Path, domain: str) -> None:
    _ec_key(tls / "ca.key")
    pem = _openssl(
        "req", "-x509", "-new", "-key", str(tls / "ca.key"), "-sha256", "-days", str(CA_DAYS),
        "-subj", f"/O=Inception/CN=Inception local CA for {domain}",
        "-addext", "basicConstraints=critical,CA:TRUE,pathlen:0",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        "-addext", "subjectKeyIdentifier=hash",
    )
    _write_private(tls / "ca.crt", pem)


def _issue_server(tls: Path, hostnames: list[str]) -> None:
    for name in ("server.key", "server.crt"):
        (tls / name).unlink(missing_ok=True)
    _ec_key(tls / "server.key")
    csr = _openssl("req", "-new", "-key", str(tls / "server.key"), "-subj", f"/CN={hostnames[0]}")
    sans = ",".join(f"DNS:{name}" for name in [*hostnames, f"*.{hostnames[0]}"])
    with tempfile.NamedTemporaryFile("w", suffix=".cnf") as ext:
        ext.write(
            "basicConstraints=critical,CA:FALSE\n"
            "keyUsage=critical,digitalSignature\n"
            "extendedKeyUsage=serverAuth\n"
            f"subjectAltName={sans}\n"
        )
        ext.flush()
        pem = _openssl(
            "x509", "-req", "-CA", str(tls / "ca.crt"), "-CAkey", str(tls / "ca.key"),
            "-set_serial", str(random.randbits(63)), "-days", str(SERVER_DAYS), "-sha256",
            "-extfile", ext.name, stdin=csr,
        )
    _write_private(tls / "server.crt", pem)


def ensure_secrets(hostnames: list[str], secrets_dir: Path = SECRETS_DIR,
                   stores: dict[str, Path] | None = None) -> list[str]:
    """Create what is missing; return a line for each thing created.

    `stores` maps a secret to the data it protects: when that data exists, a
    missing secret is an error (a new password would lock the store out).
    """
    created = []
    secrets_dir.mkdir(mode=0o700, exist_ok=True)
    os.chmod(secrets_dir, 0o700)
    for name in PASSWORDS:
        path = secrets_dir / name
        if path.exists() and not os.access(path, os.R_OK):
            raise SecretsError(f"cannot read {path} (permission denied); run invoke as the user who "
                               f"created it, or fix its owner (sudo chown $USER {path})")
        if not path.exists():
            data = (stores or {}).get(name)
            if data is not None and data.exists():
                raise SecretsError(
                    f"{path} is missing, but {data} holds data created with it, which a new password "
                    f"would lock out. Put the file back (e.g. from `invoke backup --with-secrets`), or "
                    f"delete the data with `invoke clean --all`.")
            _write_private(path, new_password().encode())
            created.append(f"secret {name}")
    tls = secrets_dir / "tls"
    tls.mkdir(mode=0o700, exist_ok=True)
    if not (tls / "ca.key").exists() or not (tls / "ca.crt").exists():
        for name in ("ca.key", "ca.crt", "server.key", "server.crt"):
            (tls / name).unlink(missing_ok=True)
        _issue_ca(tls, hostnames[0])
        created.append("local certificate authority secrets/tls/ca.crt")
    have = (tls / "server.crt").exists() and (tls / "server.key").exists()
    if not have or not set(hostnames) <= certificate_names(tls / "server.crt"):
        _issue_server(tls, hostnames)
        created.append("server certificate for " + ", ".join(hostnames))
    return created


def sync_acme_ca(bundle: str, secrets_dir: Path = SECRETS_DIR) -> str | None:
    """tls/acme-ca.pem: a copy of the ACME_CA_BUNDLE file (empty when the
    setting is), which the acme service trusts for the ACME directory. Not a
    secret, so it follows the setting: rewritten whenever it differs. Returns
    a line when it changed."""
    data = Path(bundle).read_bytes() if bundle else b""
    target = secrets_dir / "tls" / "acme-ca.pem"
    if target.exists() and target.read_bytes() == data:
        return None
    target.unlink(missing_ok=True)
    _write_private(target, data)
    return f"ACME CA bundle {target} ({'from ' + bundle if bundle else 'empty: the Debian CA store'})"


def read_secret(name: str, secrets_dir: Path = SECRETS_DIR) -> str:
    return (secrets_dir / name).read_text().strip()


def all_secret_values(secrets_dir: Path = SECRETS_DIR) -> dict[str, str]:
    """Every password and private key, for leak checks."""
    values = {name: read_secret(name, secrets_dir) for name in PASSWORDS if (secrets_dir / name).exists()}
    for key in ("ca.key", "server.key"):
        path = secrets_dir / "tls" / key
        if path.exists():
            body = "".join(line for line in path.read_text().splitlines() if "-----" not in line)
            values[key] = body[:64]
    return values
