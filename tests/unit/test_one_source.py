"""Each setting has one source: .env.example names it and holds its plain
default; the compose file only refers to it (no second default there)."""

import re

from inception import compose, settings as config

COMPOSE_TEXT = compose.COMPOSE_FILE.read_text()
REFERENCES = re.findall(r"\$\{([A-Z_][A-Z0-9_]*)(:?[-?][^}]*)?\}", COMPOSE_TEXT)
# Not settings: the image tag developers may change (never a user's setting).
NOT_SETTINGS = {"IMAGE_TAG"}


def test_every_variable_of_the_compose_file_is_a_documented_setting():
    keys = set(config.example_keys())
    unknown = sorted({name for name, _ in REFERENCES} - keys - NOT_SETTINGS)
    assert not unknown, f"the compose file uses variables .env.example does not document: {unknown}"


def test_the_compose_file_restates_no_default():
    defaults = sorted({f"{name}{rest}" for name, rest in REFERENCES
                       if rest.startswith(":-") and rest != ":-" and name not in NOT_SETTINGS})
    assert not defaults, f"defaults that belong in .env.example: {defaults}"


def test_plain_defaults_come_from_the_example(monkeypatch, tmp_path):
    for key in config.example_keys():
        monkeypatch.delenv(key, raising=False)
    env_file = tmp_path / ".env"
    env_file.write_text("LOGIN=jdoe\n")
    loaded = config.load(env_file)
    for key, default in config.example_values().items():
        if default:
            assert loaded[key] == default, f"{key}: {loaded[key]!r}, .env.example says {default!r}"
