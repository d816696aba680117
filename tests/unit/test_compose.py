"""The compose file and the command lines built for it."""

from pathlib import Path

import pytest
import yaml

from inception import compose
from inception.settings import Settings

COMPOSE = yaml.safe_load(compose.COMPOSE_FILE.read_text())


def fake_settings(env_file=Path("/x/.env")):
    return Settings({"COMPOSE_PROJECT_NAME": "inception", "HTTPS_PORT": "443"}, env_file)


@pytest.mark.parametrize("program", [("docker", "compose"), ("docker-compose",)])
def test_command_names_project_env_file_and_compose_file(program, tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("")
    cmd = compose.compose_command(fake_settings(env_file), "up", "--detach", program=program)
    assert cmd[:len(program)] == list(program)
    assert cmd[len(program):] == ["--project-name", "inception", "--env-file", str(env_file),
                                  "--file", str(compose.COMPOSE_FILE), "up", "--detach"]


def test_command_without_env_file_leaves_the_option_out():
    cmd = compose.compose_command(fake_settings(Path("/nonexistent/.env")), "ps", program=("docker-compose",))
    assert "--env-file" not in cmd


def test_resolved_settings_win_over_the_shell(monkeypatch):
    monkeypatch.setenv("HTTPS_PORT", "1")
    assert compose.compose_env(fake_settings())["HTTPS_PORT"] == "443"


def test_compose_file_suits_compose_v1_and_v2():
    assert "name" not in COMPOSE and "version" not in COMPOSE, "1.29 rejects `name:`; `version:` breaks conditions"


@pytest.mark.parametrize("service", sorted(COMPOSE["services"]))
def test_every_service_restarts_checks_health_and_is_named(service):
    spec = COMPOSE["services"][service]
    # The user's stack has no prefix (42's rule: containers named after their
    # services); a test instance sets one.
    assert spec["container_name"] == "${CONTAINER_PREFIX}" + service
    assert spec["restart"] in ("unless-stopped", "on-failure", "always")
    assert spec["healthcheck"]["test"], f"{service} has no healthcheck"
    assert spec["image"].endswith(":${IMAGE_TAG:-inception}"), f"{service} image tag {spec['image']}"
    for dependency in (spec.get("depends_on") or {}).values():
        assert dependency["condition"] == "service_healthy"
    assert "environment" not in spec or not any("PASSWORD" in key for key in spec["environment"])


def test_backend_network_is_internal_and_only_nginx_publishes():
    assert COMPOSE["networks"]["backend"]["internal"] is True
    assert COMPOSE["networks"]["documents"]["internal"] is True
    publishing = {name for name, spec in COMPOSE["services"].items() if spec.get("ports")}
    assert publishing <= {"nginx", "ftp"}, f"services publishing ports: {publishing}"


def test_web_path_networks_carry_large_frames():
    """A page and its headers cross the bridge in one segment, as on loopback."""
    for name in ("frontend", "backend", "documents"):
        options = COMPOSE["networks"][name].get("driver_opts") or {}
        assert int(options.get("com.docker.network.driver.mtu", 1500)) >= 9000, f"network {name}: {options}"
