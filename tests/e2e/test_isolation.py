"""Isolation and secret hygiene of the running containers."""

import json
import subprocess

import pytest

from inception import compose, composefile, secrets

from .conftest import assert_internal_only, run_once

# PID 1 of each container (the name in /proc/<pid>/comm, 15 characters at most).
# PHP-FPM runs as php-fpm, the images' link to this suite's php-fpm8.x.
DAEMONS = {"nginx": "nginx", "wordpress": "php-fpm", "mariadb": "mariadbd", "ftp": "vsftpd",
           "redis": "redis-server", "adminer": "php-fpm", "static": "nginx", "todo": "gunicorn",
           "mongodb": "ferretdb"}
@pytest.fixture
def containers(docker_api, stack_up):
    found = {c.labels["com.docker.compose.service"]: c
             for c in compose.project_containers(docker_api, stack_up, all_=False)}
    return found


def test_container_names_equal_service_names(containers, stack_up):
    """Named after their service (42's rule); a test instance adds its prefix."""
    prefix = stack_up["CONTAINER_PREFIX"]
    wrong = {service: c.name for service, c in containers.items() if c.name != prefix + service}
    assert not wrong, f"containers not named {prefix!r} + their service: {wrong}"


def test_only_the_documented_ports_are_published(containers, stack_up):
    published = set()
    for service, container in containers.items():
        for inner, bindings in (container.attrs["NetworkSettings"]["Ports"] or {}).items():
            for binding in bindings or []:
                published.add((service, int(binding["HostPort"])))
    expected = set(composefile.published_ports(stack_up))
    assert published == expected, f"published {sorted(published)}, documented {sorted(expected)}"


def test_mariadb_is_not_reachable_from_the_host(docker_api, containers):
    assert_internal_only(docker_api, "mariadb", ["wordpress-mariadb", "adminer-mariadb"], 3306)


def stack_up_project(containers):
    return containers["mariadb"].labels["com.docker.compose.project"]


@pytest.mark.parametrize("name", ["nginx-adminer", "nginx-static", "nginx-todo", "wordpress-mariadb",
                                  "wordpress-redis", "adminer-mariadb", "todo-mongodb"])
def test_networks_behind_nginx_have_no_route_out(docker_api, containers, name):
    network = docker_api.networks.get(f"{stack_up_project(containers)}_{name}")
    assert network.attrs["Internal"] is True, f"the {name} network has a route out"


@pytest.mark.parametrize("service", sorted(DAEMONS))
def test_pid1_is_the_daemon(containers, service):
    pid = containers[service].attrs["State"]["Pid"]
    with open(f"/proc/{pid}/comm") as comm:
        name = comm.read().strip()
    assert name == DAEMONS[service], f"PID 1 of {service} is {name!r}, not {DAEMONS[service]!r}"


def test_no_secret_value_leaks(docker_api, containers, stack_up):
    values = secrets.all_secret_values(stack_up.secrets_dir)
    assert len(values) >= 8, f"expected every secret to exist, found {sorted(values)}"
    places = {"the .env file": stack_up.env_file.read_text()}
    for service, container in containers.items():
        places[f"docker inspect {service}"] = json.dumps(container.attrs)
        places[f"docker logs {service}"] = container.logs().decode(errors="replace")
        image = container.image
        places[f"image {image.tags}"] = json.dumps(image.attrs)
        places[f"history of {image.tags}"] = subprocess.run(
            ["docker", "history", "--no-trunc", image.id], capture_output=True, text=True, check=True).stdout
    leaks = [f"{name} in {place}" for place, text in places.items() for name, value in values.items()
             if value and value in text]
    assert not leaks, f"secret values found: {leaks}"


def test_wordpress_image_has_no_web_server(docker_api, stack_up):
    output = run_once(docker_api, f"wordpress:{compose.IMAGE_TAG}",
                      ["-c", "ls /usr/sbin/ /usr/bin/; dpkg-query -W -f '${Package}\\n'"], entrypoint="bash").decode()
    found = {name for name in ("apache2", "nginx", "httpd", "lighttpd") if name in output.split()}
    assert not found, f"web servers in the wordpress image: {found}"
