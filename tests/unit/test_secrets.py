"""Secret generation: permissions, idempotence, certificate names."""

import stat
import subprocess

import pytest

from inception import secrets

HOSTS = ["jdoe.42.fr", "adminer.jdoe.42.fr", "static.jdoe.42.fr", "todo.jdoe.42.fr"]


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    directory = tmp_path_factory.mktemp("secrets") / "secrets"
    created = secrets.ensure_secrets(HOSTS, directory)
    return directory, created


def test_every_secret_is_created_private(made):
    directory, created = made
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    files = [directory / name for name in secrets.PASSWORDS]
    files += [directory / "tls" / name for name in ("ca.crt", "ca.key", "server.crt", "server.key")]
    for path in files:
        assert path.exists(), f"{path.name} was not created"
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, f"{path.name} is {oct(path.stat().st_mode)}"
    assert len({secrets.read_secret(name, directory) for name in secrets.PASSWORDS}) == len(secrets.PASSWORDS)


def test_second_run_changes_nothing(made):
    directory, _ = made
    before = {p: p.read_bytes() for p in directory.rglob("*") if p.is_file()}
    assert secrets.ensure_secrets(HOSTS, directory) == []
    assert before == {p: p.read_bytes() for p in directory.rglob("*") if p.is_file()}


def test_server_certificate_is_signed_by_the_ca_for_every_name(made):
    directory, _ = made
    tls = directory / "tls"
    verify = subprocess.run(["openssl", "verify", "-CAfile", tls / "ca.crt", tls / "server.crt"],
                            capture_output=True, text=True)
    assert verify.returncode == 0, verify.stderr
    assert set(HOSTS) <= secrets.certificate_names(tls / "server.crt")


def test_keys_are_ecdsa_p256(made):
    directory, _ = made
    text = subprocess.run(["openssl", "pkey", "-in", directory / "tls" / "server.key", "-noout", "-text"],
                          capture_output=True, text=True, check=True).stdout
    assert "prime256v1" in text or "P-256" in text


def test_new_domain_reissues_only_the_server_certificate(tmp_path):
    directory = tmp_path / "secrets"
    secrets.ensure_secrets(HOSTS, directory)
    ca = (directory / "tls" / "ca.crt").read_bytes()
    password = secrets.read_secret("db_password", directory)
    created = secrets.ensure_secrets(["other.42.fr", "adminer.other.42.fr"], directory)
    assert created == ["server certificate for other.42.fr, adminer.other.42.fr"]
    assert (directory / "tls" / "ca.crt").read_bytes() == ca
    assert secrets.read_secret("db_password", directory) == password


def test_missing_password_of_an_existing_store_is_refused(tmp_path):
    directory = tmp_path / "secrets"
    store = tmp_path / "data" / "mariadb" / "data"
    store.mkdir(parents=True)
    with pytest.raises(secrets.SecretsError, match="db_root_password is missing, but .* holds data"):
        secrets.ensure_secrets(HOSTS, directory, stores={"db_root_password": store})
    assert not (directory / "db_root_password").exists()

