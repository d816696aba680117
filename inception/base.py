"""The base image: Debian minbase (13 "trixie" by default), from the Debian archive."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile

from . import compose
from .errors import InceptionError
from .settings import ROOT

LAYER_CONTEXT = ROOT / "srcs" / "requirements" / "base"
MIRROR = "http://deb.debian.org/debian"


def base_image(suite: str) -> str:
    return f"inception-base:{suite}"


def raw_image(suite: str) -> str:
    """The imported Debian tree, before the project's shared files are added."""
    return base_image(suite) + "-raw"


def sources(suite: str) -> tuple[str, ...]:
    return (
        f"deb {MIRROR} {suite} main",
        f"deb {MIRROR} {suite}-updates main",
        f"deb http://deb.debian.org/debian-security {suite}-security main",
    )


# Kept in the image (mmdebstrap writes them to /etc/dpkg and /etc/apt), so
# every later `apt-get install` skips documentation and recommends too.
DPKG_OPTIONS = (
    "path-exclude=/usr/share/man/*",
    "path-exclude=/usr/share/doc/*",
    "path-include=/usr/share/doc/*/copyright",
    "path-exclude=/usr/share/locale/*",
    "path-exclude=/usr/share/info/*",
)
APT_OPTIONS = (
    'APT::Install-Recommends "false";',
    'APT::Install-Suggests "false";',
)
# As in Debian's official images: no downloaded .deb left in a layer. These run
# a shell, so they are written into the finished tree by a hook: mmdebstrap
# 1.5 applies --aptopt to its first `apt-get update` too, inside a root that
# has no /bin/sh yet, and that update then fails.
APT_CLEAN_HOOKS = (
    'DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb'
    ' /var/cache/apt/*.bin || true"; };',
    'APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb'
    ' /var/cache/apt/*.bin || true"; };',
)
APT_CONF = "/etc/apt/apt.conf.d/90inception"
IMPORT_CHANGES = ("ENV LANG=C.UTF-8", 'CMD ["bash"]')
# Lines of apt's and mmdebstrap's output that say what failed.
ERROR_LINE = re.compile(r"^(?:E:|Err:|W: Failed|mmdebstrap: error|.*\b(?:error|failed)\b)", re.I)


class BaseError(InceptionError):
    pass


def mmdebstrap_command(suite: str) -> list[str]:
    cmd = ["mmdebstrap", "--variant=minbase", "--format=tar"]
    cmd += [f"--dpkgopt={opt}" for opt in DPKG_OPTIONS]
    cmd += [f"--aptopt={opt}" for opt in APT_OPTIONS]
    conf = "\n".join(APT_CLEAN_HOOKS)
    cmd += [f"--customize-hook=printf '%s\\n' '{conf}' > \"$1\"{APT_CONF}"]
    # No apt lists or caches in the image; each Dockerfile runs apt-get update.
    cmd += ["--customize-hook=rm -rf \"$1\"/var/lib/apt/lists/* \"$1\"/var/cache/apt/*"]
    return cmd + [suite, "-", *sources(suite)]


def import_args(suite: str, source: str = "-") -> list[str]:
    args = ["import"]
    for change in IMPORT_CHANGES:
        args += ["--change", change]
    return args + [source, raw_image(suite)]


def failure_lines(output: str, keep: int = 12) -> str:
    """The lines of a tool's output that name the failure (or its last lines)."""
    lines = [line.rstrip() for line in output.splitlines() if line.strip()]
    errors = [line for line in lines if ERROR_LINE.match(line)]
    return "\n  ".join((errors or lines)[-keep:]) or "(no output)"


def run_showing(cmd: list[str], progress: str = "", **kwargs) -> tuple[int, str]:
    """Run a command with its stderr kept for the error message; the lines that
    start with `progress` are shown as they come."""
    process = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True, errors="replace", **kwargs)
    kept = []
    for line in process.stderr:
        if line.startswith(progress):
            sys.stderr.write(line)
        kept.append(line)
    return process.wait(), "".join(kept)


def _import_tree(suite: str, tarball: str) -> None:
    imported = compose.docker(*import_args(suite, tarball))
    if imported.returncode != 0:
        raise BaseError(f"docker import failed: {imported.stderr.strip()}")


def build_with_mmdebstrap(suite: str) -> None:
    # The tree goes to a file first: a failed bootstrap then imports nothing
    # (importing its empty stream left a 0-byte image behind).
    with tempfile.TemporaryDirectory(prefix="inception-base-") as work:
        tarball = os.path.join(work, "rootfs.tar")
        with open(tarball, "wb") as out:
            code, output = run_showing(mmdebstrap_command(suite), progress="I: ", stdout=out)
        if code != 0:
            raise BaseError(f"mmdebstrap could not build Debian {suite}:\n  {failure_lines(output)}\n"
                            f"Fix what those lines name (network: check that {MIRROR} answers over HTTP; "
                            f"as a non-root user: install uidmap), then run `invoke base` again.")
        _import_tree(suite, tarball)


def build_with_debootstrap(suite: str) -> None:
    if os.geteuid() != 0:
        raise BaseError("debootstrap needs root; run `sudo invoke base`, or install mmdebstrap")
    with tempfile.TemporaryDirectory(prefix="inception-base-") as work:
        root = os.path.join(work, "root")
        code, output = run_showing(["debootstrap", "--variant=minbase", suite, root, MIRROR],
                                   progress="I: ", stdout=subprocess.DEVNULL)
        if code != 0:
            raise BaseError(f"debootstrap could not build Debian {suite}:\n  {failure_lines(output)}")
        with open(os.path.join(root, "etc/apt/sources.list"), "w") as listing:
            listing.write("\n".join(sources(suite)) + "\n")
        with open(os.path.join(root, APT_CONF.lstrip("/")), "w") as conf:
            conf.write("\n".join(APT_OPTIONS + APT_CLEAN_HOOKS) + "\n")
        with open(os.path.join(root, "etc/dpkg/dpkg.cfg.d/90inception"), "w") as conf:
            conf.write("\n".join(DPKG_OPTIONS) + "\n")
        for cache in ("var/lib/apt/lists", "var/cache/apt"):
            shutil.rmtree(os.path.join(root, cache), ignore_errors=True)
        tarball = os.path.join(work, "rootfs.tar")
        subprocess.run(["tar", "-C", root, "-cf", tarball, "."], check=True)
        _import_tree(suite, tarball)


def build_by_pulling(suite: str) -> None:
    code, output = run_showing(compose.docker_command("pull", f"debian:{suite}-slim"), stdout=subprocess.DEVNULL)
    if code != 0:
        raise BaseError(
            f"cannot build the base image: no mmdebstrap or debootstrap here, and pulling "
            f"debian:{suite}-slim failed ({failure_lines(output, 3)}). Install mmdebstrap "
            f"(apt-get install mmdebstrap) so it is built from the Debian archive.")
    compose.docker("tag", f"debian:{suite}-slim", raw_image(suite))


LAYER_LABEL = "org.inception.base-layer"


def layer_digest() -> str:
    """One hash of the shared files the base image carries (srcs/requirements/base)."""
    digest = hashlib.sha256()
    for path in sorted(p for p in LAYER_CONTEXT.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(LAYER_CONTEXT)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def is_current(api, suite: str) -> bool:
    """The base image exists and carries today's shared files."""
    from docker.errors import ImageNotFound

    try:
        labels = api.images.get(base_image(suite)).labels or {}
    except ImageNotFound:
        return False
    return labels.get(LAYER_LABEL) == layer_digest()


def add_shared_layer(suite: str) -> None:
    """Add the files every image shares on top of the raw tree, labelled with
    their hash so that `invoke base` sees when they change."""
    built = compose.docker("build", "--quiet", "--build-arg", f"RAW_IMAGE={raw_image(suite)}",
                           "--label", f"{LAYER_LABEL}={layer_digest()}",
                           "--tag", base_image(suite), str(LAYER_CONTEXT))
    if built.returncode != 0:
        raise BaseError(f"adding the shared layer failed:\n  {failure_lines(built.stderr)}")


METHODS = {"mmdebstrap": build_with_mmdebstrap, "debootstrap": build_with_debootstrap,
           "pull": build_by_pulling}


def choose_method(path: str | None = None) -> str:
    """mmdebstrap when installed, else debootstrap, else pulling Debian's image."""
    for tool in ("mmdebstrap", "debootstrap"):
        if shutil.which(tool, path=path):
            return tool
    return "pull"


def build(suite: str) -> str:
    """Build and tag the base image; return which method made it."""
    method = choose_method()
    try:
        METHODS[method](suite)
        add_shared_layer(suite)
    finally:
        # Never leave the intermediate tree tagged, whether the build worked or not.
        compose.docker("rmi", raw_image(suite))
    return method
