"""Inception's task runner: `invoke --list` shows every task.

Every Docker and Compose call goes through inception.compose; every failure
ends as one message that says what went wrong and what to do, and exit code 1.
"""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from invoke import Collection, Exit, task

from inception import backup as backups
from inception import base as base_image
from inception import bench as benchmark
from inception import compose, secrets, settings as config, stack
from inception import instance as test_instance
from inception import deploy as deployment
from inception import lab as labs
from inception.compose import IMAGE_TAG
from inception.errors import InceptionError



def friendly(body):
    """Turn the project's own errors into `error: <message>` and exit code 1."""

    @functools.wraps(body)
    def wrapper(*args, **kwargs):
        try:
            return body(*args, **kwargs)
        except InceptionError as exc:
            raise Exit(f"error: {exc}", code=1) from None
        except KeyboardInterrupt:
            raise Exit("interrupted", code=130) from None

    return wrapper


def say(message: str) -> None:
    print(f"==> {message}", flush=True)


# ---------------------------------------------------------------- setup


@task
@friendly
def setup(c):
    """Create .env (from .env.example), the data directories and every secret."""
    env_file = config.default_env_file()
    settings = config.load(env_file, required=False)
    if not env_file.exists():
        env_file.write_text(config.render_env(settings.values))
        say(f"wrote {env_file} (review it; `invoke up` uses it)")
    added = config.add_missing_settings(env_file)
    if added:
        say(f"added new settings to {env_file}: {', '.join(added)}")
    settings = config.load(env_file)
    stack.ensure_data_dirs(settings)
    created = secrets.ensure_secrets(settings.hostnames, settings.secrets_dir, stores=stack.secret_stores(settings))
    created += filter(None, [secrets.sync_acme_ca(settings["ACME_CA_BUNDLE"], settings.secrets_dir)])
    for line in created:
        say(f"created {line}")
    if not created:
        say("secrets in place (never overwritten)")


# ---------------------------------------------------------------- build


def image_exists(api, name: str) -> bool:
    from docker.errors import ImageNotFound

    try:
        api.images.get(name)
        return True
    except ImageNotFound:
        return False


@task(help={"force": "rebuild it even when it exists"})
@friendly
def base(c, force=False):
    """Build the base image (Debian DEBIAN_SUITE, minbase) from the Debian archive."""
    settings = config.load(required=False)
    api = compose.client()
    name = settings.base_image
    if base_image.is_current(api, settings["DEBIAN_SUITE"]) and not force:
        say(f"base image {name} exists, skipping (--force rebuilds it)")
        return
    if image_exists(api, name):
        say(f"the files every image shares (srcs/requirements/base) changed: rebuilding {name}")
    say(f"building {name} from the Debian archive")
    started = time.monotonic()
    method = base_image.build(settings["DEBIAN_SUITE"])
    elapsed = time.monotonic() - started
    benchmark.record_timing("base_image_build_s", elapsed)
    say(f"built {name} with {method} in {elapsed:.0f}s")


def prepare_build_context(settings) -> None:
    """Hand the optional CA bundle to builder stages as a file in their context."""
    bundle = settings["BUILD_CA_BUNDLE"]
    for service_dir in (config.ROOT / "srcs" / "requirements").iterdir():
        if (service_dir / "Dockerfile").exists() and "build-ca.pem" in (service_dir / "Dockerfile").read_text():
            target = service_dir / "build-ca.pem"
            target.write_bytes(open(bundle, "rb").read() if bundle else b"")


@task(pre=[setup, base], help={"no_cache": "build every layer again", "service": "build only this service"})
@friendly
def build(c, no_cache=False, service=None):
    """Build the service images (nginx:inception, wordpress:inception, ...)."""
    settings = config.load()
    api = compose.client()
    prepare_build_context(settings)
    from_nothing = not any(image_exists(api, f"{name}:{IMAGE_TAG}") for name in stack.services(settings))
    args = ["build"] + (["--no-cache"] if no_cache else []) + ([service] if service else [])
    if compose.compose_program() == ("docker-compose",):
        args.insert(1, "--parallel")  # v2 builds in parallel by itself
    started = time.monotonic()
    stack.run_compose(settings, *args)
    elapsed = time.monotonic() - started
    # Only a full build with no image present says how long "from nothing" takes.
    if from_nothing and not service and not no_cache:
        benchmark.record_timing("images_build_from_nothing_s", elapsed)
    say(f"images built in {elapsed:.0f}s")


# ---------------------------------------------------------------- run


def print_urls(settings) -> None:
    print()
    print(f"  WordPress   {settings.url()}")
    print(f"  Admin       {settings.url(path='/wp-admin/')}  (user {settings['WP_ADMIN_USER']}, "
          f"password in secrets/wp_admin_password)")
    print(f"  Adminer     {settings.url(host=f'adminer.{settings.domain}')}  (server mariadb, "
          f"user {settings['MYSQL_USER']}, password in secrets/db_password)")
    print(f"  Static site {settings.url(host=f'static.{settings.domain}')}")
    print(f"  Todo app    {settings.url(host=f'todo.{settings.domain}')}")
    print(f"  FTPS        ftp://{settings.domain}:{settings['FTP_PORT']}  (explicit TLS, user "
          f"{settings['FTP_USER']}, password in secrets/ftp_password)")
    print(f"  CA to trust {settings.secrets_dir / 'tls' / 'ca.crt'}")
    print("  Host names  `invoke hosts` prints the /etc/hosts line")
    print()


@task(help={"timeout": "seconds to wait for every service to be healthy"})
@friendly
def up(c, timeout=600):
    """Set up, build, start the stack and wait until every service is healthy."""
    setup(c)
    settings = config.load()
    api = compose.client()
    # Before the build, so a taken port or a full disk fails in a second, not after minutes.
    stack.check_ports_free(api, settings)
    stack.check_disk_space(settings)
    base(c)
    build(c)
    stale = stack.networks_to_recreate(api, settings)
    if stale:
        say(f"network settings changed ({', '.join(stale)}): recreating the containers and networks; data is kept")
        stack.run_compose(settings, "down", "--remove-orphans")
    say("starting the stack")
    first_run = not (settings.data_dir / "mariadb" / "data").exists()
    started = time.monotonic()
    try:
        stack.run_compose(settings, "up", "--detach", "--remove-orphans")
    except stack.StackError:
        # Compose 1.29 stops at the first unhealthy dependency: say which and why.
        raise stack.StackError("the stack did not start; services not healthy:\n"
                               + stack.unhealthy_report(api, settings)
                               + "\nFix the cause, then run `invoke up` again.") from None
    stack.wait_healthy(api, settings, stack.services(settings), timeout=float(timeout))
    disabled = stack.remove_disabled_services(api, settings)
    if disabled:
        say(f"removed {', '.join(disabled)}: TLS_MODE={settings['TLS_MODE']} does not run it")
    orphans = stack.remove_orphan_networks(api, settings)
    if orphans:
        say(f"removed networks the compose file no longer defines: {', '.join(orphans)}")
    if stack.refresh_proxy(api, settings):
        say("nginx reloaded: apps it keeps connections to were recreated")
    elapsed = time.monotonic() - started
    benchmark.record_timing("up_to_healthy_first_run_s" if first_run else "up_to_healthy_warm_s", elapsed)
    say(f"all services healthy, {elapsed:.0f}s after `up` started them")
    print_urls(settings)


@task
@friendly
def down(c):
    """Stop and remove the containers; images, volumes and data are kept."""
    settings = config.load()
    compose.client()
    stack.run_compose(settings, "down", "--remove-orphans")


@task
@friendly
def status(c):
    """Show each service: state, health and published ports."""
    settings = config.load()
    api = compose.client()
    found = {c.labels.get("com.docker.compose.service"): c for c in compose.project_containers(api, settings)}
    rows = [("SERVICE", "STATE", "HEALTH", "PORTS")]
    for name in stack.services(settings):
        container = found.get(name)
        if container is None:
            rows.append((name, "not created", "-", "-"))
            continue
        state, health = stack.container_state(container)
        rows.append((name, state, health, stack.describe_ports(container) or "-"))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)) + "  " + row[3])
    if "redis" in found:
        print()
        print(stack.object_cache_summary(api, settings))


@task(help={"service": "only this service's logs", "follow": "keep printing new lines", "tail": "lines per service"})
@friendly
def logs(c, service=None, follow=False, tail="200"):
    """Show the services' logs."""
    settings = config.load()
    compose.client()
    args = ["logs", "--tail", str(tail)] + (["--follow"] if follow else []) + ([service] if service else [])
    stack.run_compose(settings, *args, check=False)


@task(help={"write": "append the line to /etc/hosts (needs root)", "address": "address the names point to"})
@friendly
def hosts(c, write=False, address="127.0.0.1"):
    """Print (or --write) the /etc/hosts line for the site's host names."""
    settings = config.load(required=False)
    line = f"{address} {' '.join(settings.hostnames)}"
    if not write:
        print(line)
        return
    path = "/etc/hosts"
    present = open(path).read().split("\n")
    if line in present:
        say(f"{path} already has: {line}")
        return
    try:
        with open(path, "a") as handle:
            handle.write(f"{line}  # inception\n")
    except PermissionError:
        raise Exit(f"error: cannot write {path}; run `sudo .venv/bin/invoke hosts --write`", code=1) from None
    say(f"added to {path}: {line}")


# ---------------------------------------------------------------- backup


def require_running(api, settings, needed=("mariadb", "wordpress", "todo", "redis")) -> None:
    running = {c.labels.get("com.docker.compose.service") for c in compose.project_containers(api, settings, all_=False)
               if stack.container_state(c) == ("running", "healthy")}
    missing = [name for name in needed if name not in running]
    if missing:
        raise stack.StackError(f"{', '.join(missing)} not running and healthy; run `invoke up` first")


@task(help={"with_secrets": "also store secrets/ (keep the archive safe)", "output": "folder for the archive"})
@friendly
def backup(c, with_secrets=False, output=None):
    """Write a consistent, timestamped archive of every store to backups/."""
    settings = config.load()
    api = compose.client()
    require_running(api, settings)
    started = time.monotonic()
    archive = backups.create(settings, with_secrets, Path(output) if output else backups.BACKUP_DIR, say=say)
    size = archive.stat().st_size / 2**20
    say(f"backup written: {archive} ({size:.1f} MB, {time.monotonic() - started:.0f}s)")


@task(help={"archive": "the file `invoke backup` wrote", "yes": "do not ask before replacing the current data"})
@friendly
def restore(c, archive, yes=False):
    """Bring the running stack back to the state of a backup archive."""
    settings = config.load()
    api = compose.client()
    require_running(api, settings)
    if not yes:
        if not sys.stdin.isatty():
            raise Exit("error: restore replaces the site's current data; confirm with --yes", code=1)
        answer = input(f"Replace the current posts, files and todos with {archive}? [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            raise Exit("nothing restored", code=1)
    result = backups.restore(settings, Path(archive), say=say)
    say(f"restored the backup of {result['created']} ({result['todos']} todos)")


# ---------------------------------------------------------------- test


def run_pytest(args: list[str], env_file: Path | None = None) -> int:
    env = dict(os.environ)
    if env_file:
        env["INCEPTION_ENV_FILE"] = str(env_file)
    return subprocess.run([sys.executable, "-m", "pytest", *args], cwd=config.ROOT, env=env, check=False).returncode


def invoke_in(env_file: Path, *args: str) -> int:
    """Run one of our own tasks against another instance's settings."""
    env = {**os.environ, "INCEPTION_ENV_FILE": str(env_file)}
    return subprocess.run([sys.executable, "-m", "invoke", *args], cwd=config.ROOT, env=env, check=False).returncode


def remove_instance(settings) -> None:
    if invoke_in(settings.env_file, "clean", "--all", "--yes") != 0:
        raise stack.StackError(f"could not remove the throwaway instance; remove it with: "
                               f"INCEPTION_ENV_FILE={settings.env_file} invoke clean --all --yes")
    shutil.rmtree(settings.env_file.parent, ignore_errors=True)


@contextlib.contextmanager
def throwaway_instance(kind: str, keep: bool = False):
    """A new instance of the stack, up and healthy, removed afterwards (unless
    `keep`); the user's running stack is checked to be untouched at the end."""
    user = config.load(required=False)
    api = compose.client()
    guard = stack.snapshot(api, user)
    instance = test_instance.create(user, kind)
    say(f"starting a throwaway instance `{instance.project}` on 127.0.0.1:{instance['HTTPS_PORT']} "
        f"(data and secrets in {instance.env_file.parent})")
    started = time.monotonic()
    try:
        if invoke_in(instance.env_file, "up") != 0:
            raise stack.StackError("the throwaway instance did not start (see above)")
        say(f"instance healthy after {time.monotonic() - started:.0f}s")
        yield instance
    finally:
        if keep:
            say(f"instance kept. Remove it with: INCEPTION_ENV_FILE={instance.env_file} "
                f".venv/bin/invoke clean --all --yes && rm -rf {instance.env_file.parent}")
        else:
            say("removing the throwaway instance")
            remove_instance(instance)
    changed = stack.compare_snapshot(api, user, guard)
    if changed:
        raise stack.StackError("the run touched your own stack: " + "; ".join(changed))
    if guard is not None:
        say("your own stack was left untouched (same containers, same start times)")


@task(help={"marker": "pytest -m expression, e.g. 'not flood'", "k": "pytest -k expression",
            "verbose": "list every test", "smoke": "a quick subset (about two minutes)",
            "keep": "leave the test instance running afterwards (prints how to remove it)"})
@friendly
def test(c, marker="", k="", verbose=False, smoke=False, keep=False):
    """Run the test suite on a throwaway instance of the stack; yours is never touched."""
    selection = " and ".join(f"({m})" for m in (marker, "smoke" if smoke else "") if m)
    extra = (["-k", k] if k else []) + (["-v"] if verbose else [])
    started = time.monotonic()
    say("unit tests")
    code = run_pytest(["tests/unit", *(["-m", selection] if selection else []), *extra])
    if code not in (0, 5):  # 5: nothing selected
        raise Exit(code=code)
    with throwaway_instance("test", keep=keep) as instance:
        say("end-to-end tests")
        # The acme tests bring up an instance of their own: only when the
        # marker names them (`--marker acme`), whatever else it selects.
        e2e = selection if "acme" in marker else " and ".join(f"({m})" for m in ("e2e and not acme", selection) if m)
        code = run_pytest(["tests/e2e", "-m", e2e, *extra], env_file=instance.env_file)
    say(f"suite finished in {time.monotonic() - started:.0f}s")
    if code != 0:
        raise Exit(code=code)


# ---------------------------------------------------------------- bench


@task(help={"duration": "seconds per run of each scenario", "repeats": "runs per scenario (median and spread)",
            "isolated": "measure a throwaway instance instead of your running stack",
            "swarm": "measure the stack `invoke deploy` put on the swarm DOCKER_HOST manages: rendered pages "
                     "with 1 and with 2 WordPress replicas"})
@friendly
def bench(c, duration=10, repeats=3, isolated=False, swarm=False):
    """Measure throughput against ceilings; write artifacts/bench/ (JSON, table, plot)."""
    if swarm:
        settings = config.load()
        report = benchmark.run_swarm(compose.client(), settings, int(duration), int(repeats), say=say)
        print()
        print(benchmark.swarm_table(report["results"]))
        print(f"\n{report['nodes']} nodes, load through {report['entry']}. On a lab the nodes share this machine's "
              f"{report['machine']['cores']} cores: a second replica adds PHP workers on another node, not CPU, so "
              f"the figure shows the load spread over both replicas with nothing failed, not how a second machine "
              f"scales. Results in {benchmark.OUT_DIR}")
        return
    if isolated:
        with throwaway_instance("bench") as instance:
            code = invoke_in(instance.env_file, "bench", "--duration", str(duration), "--repeats", str(repeats))
        if code != 0:
            raise Exit(code=code)
        return
    settings = config.load()
    api = compose.client()
    services = stack.services(settings)
    require_running(api, settings, needed=services)
    if not test_instance.is_instance(settings):
        say(f"measuring your running stack `{settings.project}`: it takes the load for a few minutes "
            f"and gets bench files and todos, removed at the end (`--isolated` measures a throwaway instance)")
    report = benchmark.run(api, settings, services, int(duration), int(repeats), say=say)
    print()
    print(benchmark.markdown_table(report["results"]))
    fp = report["footprint"]
    print(f"\nidle memory {fp['idle_memory_total_mb']} MB, base image {fp['base_image_gzip_mb']} MB gzipped; "
          f"results in {benchmark.OUT_DIR}")


# ---------------------------------------------------------------- clean


@task(help={"all": "also remove images, volumes and DATA_DIR (asks first)", "yes": "do not ask"})
@friendly
def clean(c, all=False, yes=False):
    """Remove the containers; with --all also images, volumes and every byte of data."""
    settings = config.load(required=False)
    api = compose.client()
    if all and not yes:
        if not sys.stdin.isatty():
            raise Exit("error: `clean --all` deletes every byte of data; confirm with --yes", code=1)
        answer = input(f"Delete containers, images, volumes and {settings.data_dir}? [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            raise Exit("nothing deleted", code=1)
    if all and test_instance.is_instance(settings):
        all, keep_images = True, True  # an instance shares the user's images
    else:
        keep_images = False
    for container in compose.project_containers(api, settings):
        container.remove(force=True, v=True)
    for network in api.networks.list(filters={"label": f"com.docker.compose.project={settings.project}"}):
        network.remove()
    say("containers and networks removed")
    if not all:
        return
    for volume in api.volumes.list(filters={"label": f"com.docker.compose.project={settings.project}"}):
        volume.remove(force=True)
    say("volumes removed")
    helper = next((image for image in api.images.list(name="inception-base") if image.tags), None)
    stack.remove_data_dir(api, settings.data_dir, helper.tags[0] if helper else None)
    say(f"{settings.data_dir} removed")
    if keep_images:
        say("images kept: this instance shares them with your stack")
        return
    # Every suite's base image, and a raw tree a failed build may have left.
    bases = [tag for image in api.images.list(name="inception-base") for tag in image.tags]
    for name in [f"{service}:{IMAGE_TAG}" for service in stack.services(settings)] + bases:
        if image_exists(api, name):
            api.images.remove(name, force=True)
    api.images.prune(filters={"dangling": True})
    say("images removed")


# ---------------------------------------------------------------- lab


@task(positional=["action"], help={"action": "up or down",
                                   "nodes": "with up: how many nodes (Docker-in-Docker containers)"})
@friendly
def lab(c, action, nodes=3):
    """`lab up [--nodes N]`: a local N-node Docker Swarm (Debian 13's engine); `lab down` removes it."""
    settings = config.load(required=False)
    api = compose.client()
    if action == "down":
        labs.down(api, settings, say=say)
        say("lab removed")
        return
    if action != "up":
        raise Exit(f"error: unknown lab action {action!r}; use `invoke lab up [--nodes N]` or `invoke lab down`", code=1)
    if not base_image.is_current(api, labs.NODE_SUITE):
        say(f"the lab nodes run on inception-base:{labs.NODE_SUITE}; building it first")
        base_image.build(labs.NODE_SUITE)
    host = labs.up(api, settings, int(nodes), say=say)
    say(f"lab of {nodes} node(s) ready, every node with the shared folder {labs.FILES_PATH} "
        f"(`invoke deploy --files {labs.FILES_PATH}`); point the Docker CLI (and `invoke deploy`) at its "
        f"manager with:")
    print(f"export DOCKER_HOST={host}")


# ---------------------------------------------------------------- deploy


@task(help={"build_engine": "Docker engine that has the built images (e.g. unix:///var/run/docker.sock when "
                            "DOCKER_HOST points at a lab); default: the manager's own",
            "files": "WordPress files: `nfs` (INCEPTION_NFS_ADDRESS names the server), the absolute path of a "
                     "folder every node has mounted from the same shared storage, or `local` (node-local: "
                     "uploads are not shared between nodes); default: `nfs`, or the lab's shared folder when "
                     "DOCKER_HOST is this checkout's lab",
            "encrypted": "IPsec-encrypt the overlay networks (needs the kernel's xfrm/esp support)",
            "timeout": "seconds to wait for every service to run",
            "remove": "remove the stack and its registry instead"})
@friendly
def deploy(c, build_engine=None, files=None, encrypted=False, timeout=900, remove=False):
    """Deploy the stack to the Docker Swarm this engine (or DOCKER_HOST) manages."""
    settings = config.load()
    api = compose.client()
    if remove:
        deployment.remove(api, settings, say=say)
        return
    if files is None:
        files = "nfs"
        if os.environ.get("DOCKER_HOST") == labs.docker_host(settings):
            files = labs.FILES_PATH
            say(f"deploying to this checkout's lab: WordPress's files in its shared folder {files}")
    started = time.monotonic()
    result = deployment.deploy(api, settings, build_engine, files, encrypted, timeout=float(timeout), say=say)
    for note in result["notes"]:
        say(note)
    say(f"stack {settings.project} running on the swarm in {time.monotonic() - started:.0f}s "
        f"(registry {result['registry']}, stores on {result['stores']})")


namespace = Collection(setup, base, build, up, down, status, logs, hosts, backup, restore, test, bench, clean, lab, deploy)
