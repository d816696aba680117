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


# The architecture's links (DESIGN.md): each is its own network, named
# <client>-<server>; ftp has one of its own that reaches nothing.
LINKS = {("nginx", "wordpress"), ("nginx", "adminer"), ("nginx", "static"), ("nginx", "todo"),
         ("wordpress", "mariadb"), ("wordpress", "redis"), ("adminer", "mariadb"), ("todo", "mongodb"),
         ("nginx", "acme")}
# Networks of one service, its own route out: ftp's published ports, the ACME
# client's way to its CA.
OWN_ROUTES = {"ftp", "acme"}


def service_networks(service: str) -> set[str]:
    networks = COMPOSE["services"][service].get("networks") or []
    return set(networks if isinstance(networks, list) else networks)


def test_each_link_of_the_architecture_is_its_own_network():
    members = {name: {service for service in COMPOSE["services"] if name in service_networks(service)}
               for name in COMPOSE["networks"]}
    expected = {f"{a}-{b}": {a, b} for a, b in LINKS} | {name: {name} for name in OWN_ROUTES}
    assert members == expected, f"network members {members}, architecture {expected}"


def test_networks_behind_nginx_are_internal_and_only_nginx_and_ftp_publish():
    # nginx-wordpress carries nginx's published port and WordPress's optional
    # route out (WP_EXTERNAL_HTTP); ftp's publishes the FTP ports; acme is the
    # ACME client's way to its CA (nginx's link to it, nginx-acme, is internal).
    routed = {name for name, spec in COMPOSE["networks"].items() if not (spec or {}).get("internal")}
    assert routed == {"nginx-wordpress"} | OWN_ROUTES, f"networks with a route out: {routed}"
    publishing = {name for name, spec in COMPOSE["services"].items() if spec.get("ports")}
    assert publishing <= {"nginx", "ftp"}, f"services publishing ports: {publishing}"


def test_wordpress_reaches_nginx_under_the_site_name():
    """WordPress calls its own URL (cron, site health): nginx answers to it on their network."""
    aliases = COMPOSE["services"]["nginx"]["networks"]["nginx-wordpress"]["aliases"]
    assert aliases == ["${DOMAIN_NAME}"], aliases


def test_web_path_networks_carry_large_frames():
    """A page and its headers cross the bridge in one segment, as on loopback."""
    web_path = [name for name in COMPOSE["networks"] if name not in OWN_ROUTES]
    assert len(web_path) == len(LINKS), web_path
    for name in web_path:
        options = COMPOSE["networks"][name].get("driver_opts") or {}
        assert int(options.get("com.docker.network.driver.mtu", 1500)) >= 9000, f"network {name}: {options}"


STATIC_SITE = compose.COMPOSE_FILE.parent / "requirements" / "static" / "site"


def test_architecture_picture_shows_exactly_the_compose_networks():
    """The static site's picture and its caption name every network of the
    compose file, none other, and mark the internal ones as such."""
    import re
    import xml.etree.ElementTree as ElementTree

    svg = ElementTree.parse(STATIC_SITE / "assets" / "architecture.svg").getroot()
    drawn = {g.get("data-network"): g.get("data-internal") == "true"
             for g in svg.iter("{http://www.w3.org/2000/svg}g") if g.get("data-network")}
    wanted = {name: bool((spec or {}).get("internal")) for name, spec in COMPOSE["networks"].items()}
    assert drawn == wanted, f"the picture shows {drawn}, the compose file has {wanted}"
    labels = {g.get("data-network"): "".join(g.itertext()) for g in svg.iter("{http://www.w3.org/2000/svg}g")
              if g.get("data-network")}
    assert all(text == name for name, text in labels.items()), f"labels differ from their networks: {labels}"
    page = (STATIC_SITE / "index.html").read_text()
    caption = re.search(r"<figcaption>(.*?)</figcaption>", page, re.S).group(1)
    named = set(re.findall(r'data-network="([^"]+)"', caption))
    assert named == set(wanted), f"the caption names {sorted(named)}, the compose file has {sorted(wanted)}"


def test_every_build_gets_the_debian_suite():
    """Dockerfiles choose package names and paths by suite (php8.4 / php8.2,
    nginx's listen parameters): each build gets DEBIAN_SUITE beside its base
    image, and no default stands in for a missing setting."""
    from inception.settings import SUITES

    built = {name: service["build"] for name, service in COMPOSE["services"].items() if "build" in service}
    assert built, "no service is built"
    for name, build in built.items():
        args = build.get("args") or {}
        assert args.get("DEBIAN_SUITE", "").startswith("${DEBIAN_SUITE:?"), f"{name}: no DEBIAN_SUITE build argument"
        assert args.get("BASE_IMAGE", "").startswith("inception-base:${DEBIAN_SUITE:?"), f"{name}: base not per suite"
        dockerfile = compose.COMPOSE_FILE.parent / build["context"] / "Dockerfile"
        text = dockerfile.read_text()
        if "$DEBIAN_SUITE" in text:
            assert "ARG DEBIAN_SUITE" in text, f"{name}'s Dockerfile uses DEBIAN_SUITE without declaring it"
            if "case \"$DEBIAN_SUITE\"" in text:
                missing = [suite for suite in SUITES if f"{suite})" not in text]
                assert not missing, f"{name}'s Dockerfile has no case for {missing}"


def test_nginx_has_the_same_settings_files_for_every_suite():
    from inception.settings import SUITES

    folder = compose.COMPOSE_FILE.parent / "requirements/nginx/conf/suites"
    files = {suite: sorted(path.name for path in (folder / suite).iterdir()) for suite in SUITES}
    assert all(names == files[SUITES[0]] and names for names in files.values()), f"per-suite files differ: {files}"


def test_the_acme_client_runs_in_acme_mode_only_and_asks_for_the_names_nginx_serves():
    """Behind the `acme` profile, which TLS_MODE=acme switches on; it asks for
    a certificate for exactly the subdomains the settings (and nginx) know."""
    from inception.settings import SUBDOMAINS

    acme = COMPOSE["services"]["acme"]
    assert acme["profiles"] == ["acme"]
    assert acme["environment"]["ACME_SUBDOMAINS"].split() == list(SUBDOMAINS)
    assert all(not spec.get("profiles") for name, spec in COMPOSE["services"].items() if name != "acme")
    env = compose.compose_env(Settings({"COMPOSE_PROJECT_NAME": "x", "TLS_MODE": "acme"}, Path("/x/.env")))
    assert env["COMPOSE_PROFILES"] == "acme"
    assert compose.compose_env(fake_settings())["COMPOSE_PROFILES"] == ""


def test_services_leave_out_a_profile_that_is_off(monkeypatch):
    """Compose 1.29's `config --services` lists every profile's services."""
    import subprocess

    from inception import stack

    listed = "\n".join(COMPOSE["services"]) + "\n"
    monkeypatch.setattr(stack, "run_compose", lambda *a, **k: subprocess.CompletedProcess(a, 0, listed, ""))
    local = Settings({"COMPOSE_PROJECT_NAME": "x", "TLS_MODE": "local"}, Path("/x/.env"))
    acme = Settings({"COMPOSE_PROJECT_NAME": "x", "TLS_MODE": "acme"}, Path("/x/.env"))
    assert "acme" not in stack.services(local)
    assert set(stack.services(acme)) == set(COMPOSE["services"])


def test_a_swarm_deployment_declares_only_the_secrets_its_services_use():
    # The ACME client sits behind a profile and is not deployed; its CA bundle
    # may not exist, and `docker stack deploy` fails on a declared secret
    # whose file is missing.
    from inception import deploy

    config = {"services": {"web": {"image": "web", "secrets": ["server.key"]},
                           "acme": {"image": "acme", "profiles": ["acme"], "secrets": ["acme_ca.pem"]}},
              "secrets": {"server.key": {"file": "/s/server.key"}, "acme_ca.pem": {"file": "/s/missing.pem"}}}
    document, _ = deploy.stack_file(config, None, encrypted=False, files_volume=None)
    assert set(document["services"]) == {"web"}
    assert document["secrets"] == {"server.key": {"file": "/s/server.key"}}


def test_deploy_files_option_names_the_shared_store_or_says_what_it_takes():
    from inception import deploy

    assert deploy.files_volume("local", "") is None
    assert deploy.files_volume("/mnt/shared", "")["driver_opts"] == {"type": "none", "o": "bind",
                                                                     "device": "/mnt/shared"}
    assert "addr=10.0.0.5," in deploy.files_volume("nfs", "10.0.0.5")["driver_opts"]["o"]
    with pytest.raises(deploy.DeployError, match="INCEPTION_NFS_ADDRESS"):
        deploy.files_volume("nfs", "")
    for wrong in ("shared", "mnt/shared", "/mnt/../etc", "/mnt/shared/", "//mnt/shared"):
        with pytest.raises(deploy.DeployError, match="absolute path"):
            deploy.files_volume(wrong, "")
    for system in ("/", "/etc", "/var/lib/docker/volumes/x", "/usr/share", "/srv", "/mnt", "/var", "/var/lib",
                   "/home/someone", "/var/log/x"):
        with pytest.raises(deploy.DeployError, match="system or top-level folder"):
            deploy.files_volume(system, "")
    for fine in ("/srv/inception-files", "/mnt/shared", "/var/lib/inception-files"):
        assert deploy.files_volume(fine, "")["driver_opts"]["device"] == fine


def test_a_shared_files_volume_is_named_after_its_store():
    # An engine keeps a volume it has and ignores new options: another store
    # must be another volume.
    from inception import deploy

    class Settings:
        project = "site"

    def name(files):
        document, _ = deploy.stack_file({"services": {}}, Settings(), False, deploy.files_volume(files, "10.0.0.5"))
        return document["volumes"]["wordpress"]["name"]

    assert name("/mnt/a").startswith("site_wordpress-")
    assert name("/mnt/a") == name("/mnt/a") != name("/mnt/b") != name("nfs")
