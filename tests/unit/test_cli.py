"""Bad input to the task runner: one clear sentence, exit code 1, no traceback."""

import os
import subprocess
import sys

import pytest

from inception.settings import ROOT


def run_invoke(*args, **env):
    full_env = dict(os.environ, **env)
    return subprocess.run([sys.executable, "-m", "invoke", *args], cwd=ROOT, env=full_env,
                          capture_output=True, text=True, timeout=120)


def assert_clean_failure(result, *phrases):
    output = result.stdout + result.stderr
    assert result.returncode == 1, f"exit {result.returncode}: {output[-400:]}"
    assert "Traceback" not in output, output
    for phrase in phrases:
        assert phrase in result.stderr, f"{phrase!r} not in: {result.stderr}"


def test_no_docker_engine(tmp_path):
    env_file = tmp_path / "valid.env"
    env_file.write_text("LOGIN=jdoe\n")
    result = run_invoke("status", DOCKER_HOST=f"unix://{tmp_path}/no-engine.sock", INCEPTION_ENV_FILE=str(env_file))
    assert_clean_failure(result, "Docker engine is not reachable", "Start it")


def test_missing_env_file(tmp_path):
    result = run_invoke("status", INCEPTION_ENV_FILE=str(tmp_path / "absent.env"))
    assert_clean_failure(result, "does not exist", "invoke setup")


def test_malformed_env_file(tmp_path):
    bad = tmp_path / "bad.env"
    bad.write_text("LOGIN=jdoe\nHTTPS_PORT 443\n")
    result = run_invoke("status", INCEPTION_ENV_FILE=str(bad))
    assert_clean_failure(result, "line 2: expected KEY=VALUE")


@pytest.mark.parametrize("name", ["admin", "TheAdmin"])
def test_admin_user_name_with_admin_is_refused_at_setup(tmp_path, name):
    env_file = tmp_path / "new.env"
    result = run_invoke("setup", INCEPTION_ENV_FILE=str(env_file), WP_ADMIN_USER=name)
    assert_clean_failure(result, f"WP_ADMIN_USER={name!r} contains \"admin\"")
    assert not env_file.exists(), "setup wrote a .env with a forbidden administrator name"
