"""The base image: Debian 13 (trixie) minbase, from the Debian archive."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile

from .compose import BASE_IMAGE
from .settings import ROOT

# The imported Debian tree, before the project's shared files are added.
RAW_IMAGE = BASE_IMAGE + "-raw"
LAYER_CONTEXT = ROOT / "srcs" / "requirements" / "base"

SUITE = "trixie"
MIRROR = "http://deb.debian.org/debian"
SOURCES = (
    f"deb {MIRROR} {SUITE} main",
    f"deb {MIRROR} {SUITE}-updates main",
    f"deb http://deb.debian.org/debian-security {SUITE}-security main",
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
    'APT::Install-Recommends "false"',
    'APT::Install-Suggests "false"',
    # As in Debian's official images: no downloaded .deb left in a layer.
    'DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb'
    ' /var/cache/apt/*.bin || true"; }',
    'APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb'
    ' /var/cache/apt/*.bin || true"; }',
)
IMPORT_CHANGES = ("ENV LANG=C.UTF-8", 'CMD ["bash"]')


class BaseError(Exception):
    pass


def mmdebstrap_command() -> list[str]:
    cmd = ["mmdebstrap", "--variant=minbase", "--format=tar", "--quiet"]
    cmd += [f"--dpkgopt={opt}" for opt in DPKG_OPTIONS]
    cmd += [f"--aptopt={opt}" for opt in APT_OPTIONS]
    # No apt lists or caches in the image; each Dockerfile runs apt-get update.
    cmd += ["--customize-hook=rm -rf \"$1\"/var/lib/apt/lists/* \"$1\"/var/cache/apt/*"]
    return cmd + [SUITE, "-", *SOURCES]


def import_command() -> list[str]:
    cmd = ["docker", "import"]
    for change in IMPORT_CHANGES:
        cmd += ["--change", change]
    return cmd + ["-", RAW_IMAGE]


def build_with_mmdebstrap() -> None:
    bootstrap = subprocess.Popen(mmdebstrap_command(), stdout=subprocess.PIPE)
    importer = subprocess.run(import_command(), stdin=bootstrap.stdout, capture_output=True, text=True)
    bootstrap.stdout.close()
    if bootstrap.wait() != 0:
        raise BaseError("mmdebstrap failed (see above); check that deb.debian.org is reachable over HTTP")
    if importer.returncode != 0:
        raise BaseError(f"docker import failed: {importer.stderr.strip()}")


def build_with_debootstrap() -> None:
    if os.geteuid() != 0:
        raise BaseError("debootstrap needs root; run `sudo invoke base`, or install mmdebstrap")
    with tempfile.TemporaryDirectory(prefix="inception-base-") as root:
        subprocess.run(["debootstrap", "--variant=minbase", SUITE, root, MIRROR], check=True)
        with open(os.path.join(root, "etc/apt/sources.list"), "w") as sources:
            sources.write("\n".join(SOURCES) + "\n")
        tar = subprocess.Popen(["tar", "-C", root, "-c", "."], stdout=subprocess.PIPE)
        importer = subprocess.run(import_command(), stdin=tar.stdout, capture_output=True, text=True)
        tar.stdout.close()
        if tar.wait() != 0 or importer.returncode != 0:
            raise BaseError(f"importing the debootstrap tree failed: {importer.stderr.strip()}")


def build_by_pulling() -> None:
    pulled = subprocess.run(["docker", "pull", "debian:trixie-slim"], check=False)
    if pulled.returncode != 0:
        raise BaseError(
            "cannot build the base image: install mmdebstrap (apt-get install mmdebstrap) "
            "so it can be built from the Debian archive"
        )
    subprocess.run(["docker", "tag", "debian:trixie-slim", RAW_IMAGE], check=True)


def add_shared_layer() -> None:
    """Add the entrypoints' shared helpers on top of the raw tree."""
    built = subprocess.run(["docker", "build", "--quiet", "--build-arg", f"RAW_IMAGE={RAW_IMAGE}",
                            "--tag", BASE_IMAGE, str(LAYER_CONTEXT)], capture_output=True, text=True)
    if built.returncode != 0:
        raise BaseError(f"adding the shared layer failed: {built.stderr.strip()[-500:]}")
    subprocess.run(["docker", "rmi", RAW_IMAGE], capture_output=True, check=False)


def build() -> str:
    """Build and tag the base image; return which method made it."""
    if shutil.which("mmdebstrap"):
        build_with_mmdebstrap()
        method = "mmdebstrap"
    elif shutil.which("debootstrap"):
        build_with_debootstrap()
        method = "debootstrap"
    else:
        build_by_pulling()
        method = "docker pull debian:trixie-slim"
    add_shared_layer()
    return method
