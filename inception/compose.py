"""Docker and Compose access: the one door through which the project reaches
the engine. Compose command lines (compose_command), the SDK client
(client), the docker CLI for what the SDK cannot do (docker), and commands
inside a service's container (exec_in) are all built here."""

from __future__ import annotations

import os
import shutil
import subprocess
from functools import lru_cache

from .errors import InceptionError
from .settings import ROOT, Settings

COMPOSE_FILE = ROOT / "srcs" / "docker-compose.yml"
# Developers may build a second set of images beside the user's (the tag
# still is never `latest`).
IMAGE_TAG = os.environ.get("INCEPTION_IMAGE_TAG", "inception")


class DockerError(InceptionError):
    pass


NO_ENGINE = (
    "the Docker engine is not reachable{detail}. Start it (`sudo systemctl start docker`, "
    "or `sudo dockerd --userland-proxy=false &`) and check that your user may use it "
    "(`docker info`)."
)


@lru_cache(maxsize=None)
def compose_program() -> tuple[str, ...]:
    """`docker compose` (v2) when the plugin exists, else Debian's `docker-compose` 1.29."""
    if shutil.which("docker"):
        probe = subprocess.run(["docker", "compose", "version"], capture_output=True, check=False)
        if probe.returncode == 0:
            return ("docker", "compose")
    if shutil.which("docker-compose"):
        return ("docker-compose",)
    raise DockerError(
        "neither `docker compose` (v2) nor `docker-compose` is installed; install one "
        "(Debian: apt-get install docker-compose; elsewhere: the docker-compose-plugin package)"
    )


def compose_command(settings: Settings, *args: str, program: tuple[str, ...] | None = None) -> list[str]:
    program = program or compose_program()
    # Without a .env (e.g. `clean` on a fresh clone) the settings travel in the
    # environment alone (compose_env).
    env_file = ["--env-file", str(settings.env_file)] if settings.env_file.exists() else []
    return [*program, "--project-name", settings.project, *env_file, "--file", str(COMPOSE_FILE), *args]


def profiles(settings: Settings) -> list[str]:
    """The compose profiles the settings switch on: `acme` (the ACME client,
    which only TLS_MODE=acme runs). Profiles work in Compose 1.28+ and v2."""
    return ["acme"] if settings.values.get("TLS_MODE") == "acme" else []


def compose_env(settings: Settings) -> dict:
    """The process environment for compose: our resolved settings win over the shell."""
    env = dict(os.environ)
    env.update(settings.values)
    env["IMAGE_TAG"] = IMAGE_TAG
    # Both Compose versions read it; a shell's own value must not switch a
    # profile on behind the settings' back.
    env["COMPOSE_PROFILES"] = ",".join(profiles(settings))
    # Compose 1.29 builds through the docker CLI too, so both versions see the same context.
    env.setdefault("COMPOSE_DOCKER_CLI_BUILD", "1")
    return env


def client():
    """A docker SDK client, or a DockerError that says how to start the engine."""
    import docker
    from docker.errors import DockerException

    try:
        api = docker.from_env(timeout=120)
        api.ping()
    except DockerException as exc:
        reason = str(exc).split("(")[0].strip()
        raise DockerError(NO_ENGINE.format(detail=f" ({reason})" if reason else "")) from None
    return api


def container(api, settings: Settings, service: str):
    """The container of a service of this project, or None."""
    found = project_containers(api, settings, all_=True, service=service)
    return found[0] if found else None


def project_containers(api, settings: Settings, all_: bool = True, service: str | None = None) -> list:
    labels = [f"com.docker.compose.project={settings.project}"]
    if service:
        labels.append(f"com.docker.compose.service={service}")
    return api.containers.list(all=all_, filters={"label": labels})


def docker(*args: str, **kwargs) -> subprocess.CompletedProcess:
    """The docker CLI, for what the SDK cannot do (build with the CLI's
    context handling, import a tarball, run with `systempaths=unconfined`).
    Keyword arguments go to subprocess.run; output is captured as text
    unless `stdout` or `stdin` says otherwise."""
    if "stdout" not in kwargs and "stdin" not in kwargs:
        kwargs.setdefault("capture_output", True)
        kwargs.setdefault("text", True)
    return subprocess.run(["docker", *args], check=False, **kwargs)


def docker_command(*args: str) -> list[str]:
    """A docker CLI command line, for callers that stream its output themselves."""
    return ["docker", *args]


def exec_in(settings: Settings, service: str, command: list[str], *, user: str | None = None,
            env: dict | None = None, stdin=None, stdout=None, input: bytes | None = None,
            timeout: float | None = None) -> subprocess.CompletedProcess:
    """Run a command in a service's running container (`docker exec`): the one
    door through which the host reaches inside a container. Returns the
    completed process (bytes); the caller decides what a failure means."""
    cmd = ["docker", "exec"] + (["--interactive"] if stdin is not None or input is not None else [])
    cmd += ["--user", user] if user else []
    for key, value in (env or {}).items():
        cmd += ["--env", f"{key}={value}"]
    cmd += [settings.container_name(service), *command]
    return subprocess.run(cmd, stdin=stdin, input=input,
                          stdout=stdout if stdout is not None else subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=timeout, check=False)
