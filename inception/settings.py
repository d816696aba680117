"""Project settings: `.env` parsing, defaults and validation.

Compose reads the same file; environment variables override it, as they do in
Compose, so `HTTPS_PORT=8443 invoke up` works for one run.
"""

from __future__ import annotations

import getpass
import io
import ipaddress
import os
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from dotenv import dotenv_values

from .errors import InceptionError

ROOT = Path(__file__).resolve().parent.parent
ENV_EXAMPLE = ROOT / ".env.example"

LINE_RE = re.compile(r"^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$")
HOST_LABEL_RE = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
UNIX_NAME_RE = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")
SQL_NAME_RE = re.compile(r"^[A-Za-z0-9_]{1,32}$")
WP_NAME_RE = re.compile(r"^[A-Za-z0-9._-]{1,60}$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
PROJECT_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")

# Debian releases the images can be built on: the current stable (default)
# and the one before it (42's subject asks for the penultimate stable).
SUITES = ("trixie", "bookworm")

# Subdomains nginx serves; the server certificate covers each of them.
SUBDOMAINS = ("adminer", "static", "todo")

# Where the HTTPS certificate comes from: the project's own CA, or an ACME CA
# (Let's Encrypt) through the acme service.
TLS_MODES = ("local", "acme")


class SettingsError(InceptionError):
    """A setting is missing or wrong; the message says which and what to do."""


@dataclass(frozen=True)
class Settings:
    values: dict
    env_file: Path

    def __getitem__(self, key: str) -> str:
        return self.values[key]

    @property
    def domain(self) -> str:
        return self.values["DOMAIN_NAME"]

    @property
    def hostnames(self) -> list[str]:
        return [self.domain] + [f"{sub}.{self.domain}" for sub in SUBDOMAINS]

    @property
    def data_dir(self) -> Path:
        return Path(self.values["DATA_DIR"])

    @property
    def project(self) -> str:
        return self.values["COMPOSE_PROJECT_NAME"]

    @property
    def base_image(self) -> str:
        return f"inception-base:{self.values['DEBIAN_SUITE']}"

    @property
    def acme(self) -> bool:
        """Whether certificates come from an ACME CA (TLS_MODE=acme)."""
        return self.values["TLS_MODE"] == "acme"

    @property
    def secrets_dir(self) -> Path:
        return Path(self.values["SECRETS_DIR"])

    def container_name(self, service: str) -> str:
        """The container of a service: its own name (42's rule), prefixed for a test instance."""
        return self.values["CONTAINER_PREFIX"] + service

    def url(self, host: str | None = None, path: str = "/") -> str:
        host = host or self.domain
        port = int(self.values["HTTPS_PORT"])
        netloc = host if port == 443 else f"{host}:{port}"
        return f"https://{netloc}{path}"


def default_env_file() -> Path:
    return Path(os.environ.get("INCEPTION_ENV_FILE", ROOT / ".env"))


def parse_env_text(text: str, source: str) -> dict:
    """Parse KEY=VALUE lines; a line that is neither that nor a comment is an error."""
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = LINE_RE.match(line)
        if not match:
            raise SettingsError(
                f"{source} line {number}: expected KEY=VALUE, found {raw.strip()[:60]!r}. "
                f"Fix that line or delete {source} and run `invoke setup` to recreate it."
            )
    # python-dotenv handles quoting and escapes the way Compose does.
    parsed = dotenv_values(stream=io.StringIO(text), interpolate=False)
    return {key: value or "" for key, value in parsed.items()}


def current_login() -> str:
    name = os.environ.get("SUDO_USER") or os.environ.get("USER") or getpass.getuser()
    name = re.sub(r"[^a-z0-9_-]", "", name.lower()) or "inception"
    return name if name[0].isalpha() or name[0] == "_" else f"u{name}"


def fill_defaults(values: dict) -> dict:
    """Return a copy with every empty derived setting filled in (the plain
    defaults are .env.example's own values)."""
    out = dict(values)

    def default(key: str, value: str) -> None:
        if not out.get(key):
            out[key] = value

    default("LOGIN", current_login())
    login = out["LOGIN"]
    default("DOMAIN_NAME", f"{login}.42.fr")
    default("DATA_DIR", f"/home/{login}/data")
    default("SECRETS_DIR", str(ROOT / "secrets"))
    default("COMPOSE_FILE", str(ROOT / "srcs" / "docker-compose.yml"))
    default("WP_ADMIN_USER", f"{login}_chief")
    default("WP_ADMIN_EMAIL", f"{out['WP_ADMIN_USER']}@{out['DOMAIN_NAME']}")
    default("WP_USER_EMAIL", f"{out['WP_USER']}@{out['DOMAIN_NAME']}")
    return out


def _port(values: dict, key: str, problems: list) -> int:
    try:
        port = int(values[key])
    except ValueError:
        port = 0
    if not 1 <= port <= 65535:
        problems.append(f"{key}={values[key]!r} is not a port number (1-65535)")
    return port


def require(problems: list, ok: bool, message: str) -> None:
    if not ok:
        problems.append(message)


def _check_identity_and_paths(values: dict, problems: list) -> None:
    """Who the stack belongs to, its names and where its files go."""
    require(problems, UNIX_NAME_RE.match(values["LOGIN"]) is not None,
            f"LOGIN={values['LOGIN']!r} must be a lower-case user name, e.g. LOGIN=jdoe")
    domain = values["DOMAIN_NAME"]
    require(problems, len(domain) <= 200 and "." in domain
            and all(HOST_LABEL_RE.match(label) for label in domain.split(".")),
            f"DOMAIN_NAME={domain!r} must be a lower-case host name, e.g. DOMAIN_NAME=jdoe.42.fr")
    require(problems, os.path.isabs(values["DATA_DIR"]),
            f"DATA_DIR={values['DATA_DIR']!r} must be an absolute path, e.g. DATA_DIR=/home/jdoe/data")
    require(problems, values["DEBIAN_SUITE"] in SUITES,
            f"DEBIAN_SUITE={values['DEBIAN_SUITE']!r} must be one of {', '.join(SUITES)}")
    require(problems, os.path.isabs(values["SECRETS_DIR"]),
            f"SECRETS_DIR={values['SECRETS_DIR']!r} must be an absolute path")
    require(problems, values["CONTAINER_PREFIX"] == "" or PROJECT_RE.match(values["CONTAINER_PREFIX"]) is not None,
            f"CONTAINER_PREFIX={values['CONTAINER_PREFIX']!r} must be empty or lower-case letters, digits, - or _")
    require(problems, PROJECT_RE.match(values["COMPOSE_PROJECT_NAME"]) is not None,
            f"COMPOSE_PROJECT_NAME={values['COMPOSE_PROJECT_NAME']!r} must be lower-case letters, digits, - or _")


def _check_network(values: dict, problems: list) -> None:
    """Addresses and ports: valid, and not overlapping."""
    try:
        ipaddress.ip_address(values["BIND_ADDRESS"])
    except ValueError:
        problems.append(f"BIND_ADDRESS={values['BIND_ADDRESS']!r} must be an IP address, e.g. 0.0.0.0 or 127.0.0.1")
    try:
        ipaddress.ip_address(values["FTP_PASV_ADDRESS"])
    except ValueError:
        problems.append(f"FTP_PASV_ADDRESS={values['FTP_PASV_ADDRESS']!r} must be an IP address")
    https = _port(values, "HTTPS_PORT", problems)
    ftp = _port(values, "FTP_PORT", problems)
    low = _port(values, "FTP_PASV_MIN_PORT", problems)
    high = _port(values, "FTP_PASV_MAX_PORT", problems)
    require(problems, not low or not high or low <= high <= low + 199,
            "FTP_PASV_MIN_PORT..FTP_PASV_MAX_PORT must be an ascending range of at most 200 ports")
    require(problems, len({https, ftp}) == 2 and not (low <= https <= high) and not (low <= ftp <= high),
            "HTTPS_PORT, FTP_PORT and the passive range must not overlap")


def _check_accounts(values: dict, problems: list) -> None:
    """Database, WordPress and FTP accounts."""
    for key in ("MYSQL_DATABASE", "MYSQL_USER"):
        require(problems, SQL_NAME_RE.match(values[key]) is not None,
              f"{key}={values[key]!r} may hold only letters, digits and _ (at most 32)")
    for key in ("WP_ADMIN_USER", "WP_USER"):
        require(problems, WP_NAME_RE.match(values[key]) is not None,
              f"{key}={values[key]!r} may hold only letters, digits, '.', '_' and '-'")
    require(problems, "admin" not in values["WP_ADMIN_USER"].lower(),
            f"WP_ADMIN_USER={values['WP_ADMIN_USER']!r} contains \"admin\", which the subject forbids; "
            "choose another name, e.g. WP_ADMIN_USER=chief")
    require(problems, values["WP_ADMIN_USER"].lower() != values["WP_USER"].lower(),
            "WP_USER must differ from WP_ADMIN_USER")
    for key in ("WP_ADMIN_EMAIL", "WP_USER_EMAIL"):
        require(problems, EMAIL_RE.match(values[key]) is not None, f"{key}={values[key]!r} is not an e-mail address")
    require(problems, values["WP_ADMIN_EMAIL"].lower() != values["WP_USER_EMAIL"].lower(),
            "WP_USER_EMAIL must differ from WP_ADMIN_EMAIL (WordPress needs one address per user)")
    require(problems, bool(values["WP_TITLE"].strip()), "WP_TITLE must not be empty")
    require(problems, UNIX_NAME_RE.match(values["FTP_USER"]) is not None and values["FTP_USER"] not in ("root", "www-data", "ftp"),
            f"FTP_USER={values['FTP_USER']!r} must be a lower-case user name other than root, www-data or ftp")
    require(problems, values["WP_EXTERNAL_HTTP"] in ("yes", "no"),
            f"WP_EXTERNAL_HTTP={values['WP_EXTERNAL_HTTP']!r} must be yes or no")


def _check_options(values: dict, problems: list) -> None:
    """Access lists, switches and build options."""
    for entry in filter(None, (part.strip() for part in values.get("ADMINER_ALLOW", "").split(","))):
        try:
            # nginx's allow takes an address or a network; host bits set are
            # its business (it masks them), so strict=False.
            ipaddress.ip_network(entry, strict=False)
        except ValueError:
            problems.append(f"ADMINER_ALLOW: {entry!r} is not an address or CIDR range "
                            "(e.g. ADMINER_ALLOW=192.0.2.10,198.51.100.0/24)")
    bundle = values["BUILD_CA_BUNDLE"]
    require(problems, not bundle or os.path.isfile(bundle),
            f"BUILD_CA_BUNDLE={bundle!r} is not a file; point it at a PEM bundle or leave it empty")


def _check_tls(values: dict, problems: list) -> None:
    """Where the certificate comes from; acme mode needs a contact and a CA."""
    mode = values["TLS_MODE"]
    require(problems, mode in TLS_MODES,
            f"TLS_MODE={mode!r} must be one of {', '.join(TLS_MODES)} (local: the project's own CA; "
            "acme: Let's Encrypt or another ACME CA, for a public host)")
    directory = values["ACME_DIRECTORY"]
    try:
        url = urlsplit(directory)
        url_ok = url.scheme == "https" and bool(url.hostname) and not url.username and not url.password
    except ValueError:
        url_ok = False
    require(problems, url_ok,
            f"ACME_DIRECTORY={directory!r} must be the https:// URL of an ACME directory, e.g. "
            "ACME_DIRECTORY=https://acme-v02.api.letsencrypt.org/directory")
    bundle = values["ACME_CA_BUNDLE"]
    require(problems, not bundle or (os.path.isabs(bundle) and os.path.isfile(bundle)),
            f"ACME_CA_BUNDLE={bundle!r} is not a file; give the absolute path of a PEM file, or leave it "
            "empty to trust the Debian CA store (as Let's Encrypt needs)")
    days = values["ACME_RENEW_DAYS"]
    require(problems, days.isdigit() and 1 <= int(days) <= 36500,
            f"ACME_RENEW_DAYS={days!r} must be a whole number of days, e.g. ACME_RENEW_DAYS=30")
    if mode == "acme":
        email = values["ACME_EMAIL"]
        require(problems, bool(email), "TLS_MODE=acme needs ACME_EMAIL, the ACME account's contact address "
                                       "(expiry notices), e.g. ACME_EMAIL=jdoe@example.com")
        require(problems, not email or EMAIL_RE.match(email) is not None,
                f"ACME_EMAIL={email!r} is not an e-mail address")
    else:
        require(problems, not values["ACME_EMAIL"] or EMAIL_RE.match(values["ACME_EMAIL"]) is not None,
                f"ACME_EMAIL={values['ACME_EMAIL']!r} is not an e-mail address")


def validate(values: dict) -> list[str]:
    """Every problem with the settings, each as a sentence naming the setting."""
    problems = []
    for part in (_check_identity_and_paths, _check_network, _check_accounts, _check_options, _check_tls):
        part(values, problems)
    return problems


def example_values() -> dict:
    """Every setting with the default .env.example gives it (empty for derived ones)."""
    return parse_env_text(ENV_EXAMPLE.read_text(), ".env.example")


def example_keys() -> list[str]:
    return list(example_values())


def load(env_file: Path | None = None, required: bool = True) -> Settings:
    """Read .env (or only defaults when it is missing and not required) and validate."""
    env_file = Path(env_file or default_env_file())
    if env_file.exists():
        try:
            text = env_file.read_text()
        except OSError as exc:
            raise SettingsError(f"cannot read {env_file}: {exc.strerror}; check its permissions") from None
        values = parse_env_text(text, str(env_file))
    elif required:
        raise SettingsError(f"{env_file} does not exist; run `invoke setup` (or `make`) to create it")
    else:
        values = {}
    for key, default in example_values().items():
        if key in os.environ:
            values[key] = os.environ[key]
        # .env.example holds each plain default once; fill_defaults the derived ones.
        if not values.get(key):
            values[key] = default
    values = fill_defaults(values)
    problems = validate(values)
    if problems:
        raise SettingsError(f"invalid settings in {env_file}:\n  - " + "\n  - ".join(problems))
    return Settings(values, env_file)


def render_env(values: dict) -> str:
    """The text of .env.example with every key set to its value; comments kept."""
    lines = []
    for raw in ENV_EXAMPLE.read_text().splitlines():
        match = LINE_RE.match(raw.strip())
        if match and not raw.lstrip().startswith("#"):
            key = match.group(1)
            value = values.get(key, "")
            if re.search(r"[\s#'\"$\\]", value):
                # Single quotes: no escapes, no interpolation, for dotenv and Compose.
                if "'" not in value:
                    value = f"'{value}'"
                else:
                    value = '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
            lines.append(f"{key}={value}")
        else:
            lines.append(raw)
    return "\n".join(lines) + "\n"


def add_missing_settings(env_file: Path) -> list[str]:
    """Append the settings a newer .env.example has and this .env lacks (with
    their defaults), so plain Compose commands see every one; return their names."""
    present = parse_env_text(env_file.read_text(), str(env_file))
    missing = [key for key in example_keys() if key not in present]
    if not missing:
        return []
    values = fill_defaults({**example_values(), **{k: v for k, v in present.items() if v}})
    with open(env_file, "a") as handle:
        handle.write("\n# Added by `invoke setup` (new settings).\n")
        handle.writelines(f"{key}={values[key]}\n" for key in missing)
    return missing
