"""Settings: defaults, overrides and validation of .env."""

import pytest

from inception import settings as config


@pytest.fixture
def env_file(tmp_path, monkeypatch):
    for key in config.example_keys():
        monkeypatch.delenv(key, raising=False)
    path = tmp_path / ".env"
    path.write_text("LOGIN=jdoe\n")
    return path


def test_defaults_derive_from_login(env_file):
    settings = config.load(env_file)
    assert settings.domain == "jdoe.42.fr"
    assert settings["DATA_DIR"] == "/home/jdoe/data"
    assert settings["WP_ADMIN_EMAIL"] == "jdoe_chief@jdoe.42.fr"
    assert settings.hostnames == ["jdoe.42.fr", "adminer.jdoe.42.fr", "static.jdoe.42.fr", "todo.jdoe.42.fr"]


def test_environment_overrides_env_file(env_file, monkeypatch):
    monkeypatch.setenv("HTTPS_PORT", "8443")
    settings = config.load(env_file)
    assert settings["HTTPS_PORT"] == "8443"
    assert settings.url(path="/x") == "https://jdoe.42.fr:8443/x"


@pytest.mark.parametrize("name", ["admin", "SiteAdmin", "ADMINISTRATOR", "wp_admin_1"])
def test_admin_user_containing_admin_is_refused(env_file, name):
    env_file.write_text(f"LOGIN=jdoe\nWP_ADMIN_USER={name}\n")
    with pytest.raises(config.SettingsError, match="contains \"admin\""):
        config.load(env_file)


@pytest.mark.parametrize("line, message", [
    ("HTTPS_PORT=70000", "not a port number"),
    ("DOMAIN_NAME=Not A Host", "host name"),
    ("DATA_DIR=relative/data", "absolute path"),
    ("BIND_ADDRESS=localhost", "IP address"),
    ("MYSQL_USER=word-press", "letters, digits and _"),
    ("FTP_PASV_MIN_PORT=30000", "ascending range"),
    ("WP_USER=jdoe_chief", "must differ"),
])
def test_invalid_values_are_named(env_file, line, message):
    env_file.write_text(f"LOGIN=jdoe\n{line}\n")
    with pytest.raises(config.SettingsError, match=message):
        config.load(env_file)


@pytest.mark.parametrize("lines, message", [
    ("TLS_MODE=letsencrypt", "TLS_MODE='letsencrypt' must be one of local, acme"),
    ("TLS_MODE=acme", "TLS_MODE=acme needs ACME_EMAIL"),
    ("TLS_MODE=acme\nACME_EMAIL=not-an-address", "ACME_EMAIL='not-an-address' is not an e-mail address"),
    ("ACME_DIRECTORY=http://acme.example/directory", "must be the https:// URL of an ACME directory"),
    ("ACME_DIRECTORY=letsencrypt", "must be the https:// URL of an ACME directory"),
    ("ACME_DIRECTORY=https://user:pw@acme.example/dir", "must be the https:// URL of an ACME directory"),
    ("ACME_RENEW_DAYS=soon", "ACME_RENEW_DAYS='soon' must be a whole number of days"),
    ("ACME_RENEW_DAYS=0", "ACME_RENEW_DAYS='0' must be a whole number of days"),
    ("ACME_CA_BUNDLE=/nonexistent/ca.pem", "ACME_CA_BUNDLE='/nonexistent/ca.pem' is not a file"),
])
def test_tls_settings_are_checked_with_what_to_set(env_file, lines, message):
    env_file.write_text(f"LOGIN=jdoe\n{lines}\n")
    with pytest.raises(config.SettingsError) as raised:
        config.load(env_file)
    assert message in str(raised.value), str(raised.value)


def test_local_mode_is_the_default_and_acme_mode_loads_with_an_email(env_file, tmp_path):
    assert config.load(env_file)["TLS_MODE"] == "local" and not config.load(env_file).acme
    bundle = tmp_path / "ca.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n")
    env_file.write_text(f"LOGIN=jdoe\nTLS_MODE=acme\nACME_EMAIL=jdoe@example.com\nACME_CA_BUNDLE={bundle}\n")
    settings = config.load(env_file)
    assert settings.acme and settings["ACME_DIRECTORY"] == "https://acme-v02.api.letsencrypt.org/directory"


def test_malformed_line_names_its_number(env_file):
    env_file.write_text("LOGIN=jdoe\n# fine\nthis is not a setting\n")
    with pytest.raises(config.SettingsError, match=r"line 3: expected KEY=VALUE"):
        config.load(env_file)


def test_missing_env_file_says_what_to_run(tmp_path):
    with pytest.raises(config.SettingsError, match="invoke setup"):
        config.load(tmp_path / "absent.env")


def test_rendered_env_reads_back_identically(env_file, tmp_path):
    values = config.load(env_file).values | {"WP_TITLE": "Jane's blog # one"}
    rendered = tmp_path / "rendered.env"
    rendered.write_text(config.render_env(values))
    assert config.load(rendered).values == values


def test_example_documents_every_contract_setting():
    required = {"LOGIN", "DOMAIN_NAME", "DATA_DIR", "HTTPS_PORT", "FTP_PORT", "FTP_PASV_MIN_PORT",
                "FTP_PASV_MAX_PORT", "MYSQL_DATABASE", "MYSQL_USER", "WP_TITLE", "WP_ADMIN_USER",
                "WP_ADMIN_EMAIL", "WP_USER", "WP_USER_EMAIL", "FTP_USER", "COMPOSE_PROJECT_NAME"}
    assert required <= set(config.example_keys())


def test_full_disk_is_reported_before_starting(env_file, tmp_path):
    from inception import stack

    settings = config.load(env_file)
    settings.values["DATA_DIR"] = str(tmp_path)
    free = __import__("shutil").disk_usage(tmp_path).free
    stack.check_disk_space(settings, minimum=1)  # real free space is above one byte
    with pytest.raises(stack.StackError, match="MB free on the disk of DATA_DIR"):
        stack.check_disk_space(settings, minimum=free + 2**30)
