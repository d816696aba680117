"""The base image build: which tool makes it, and what a failure says."""

import os
import shutil

import pytest

from inception import base


def path_with(tmp_path, *tools):
    """A PATH holding only the named real tools (those installed here)."""
    folder = tmp_path / "bin"
    folder.mkdir()
    for tool in tools:
        real = shutil.which(tool)
        assert real, f"{tool} is not installed here (apt-get install {tool})"
        os.symlink(real, folder / tool)
    return str(folder)


def test_mmdebstrap_is_preferred(tmp_path):
    assert base.choose_method(path_with(tmp_path, "mmdebstrap")) == "mmdebstrap"


def test_without_mmdebstrap_debootstrap_or_a_pull_makes_the_base(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert base.choose_method(str(empty)) == "pull", "with no bootstrap tool the Debian image is pulled"
    fake = tmp_path / "deb"
    fake.mkdir()
    (fake / "debootstrap").write_text("#!/bin/sh\n")
    (fake / "debootstrap").chmod(0o755)
    assert base.choose_method(str(fake)) == "debootstrap"


def test_no_shell_hook_reaches_the_first_apt_update():
    """mmdebstrap 1.5 applies --aptopt to its first `apt-get update`, in a root
    without /bin/sh: a Post-Invoke hook there fails the whole build."""
    command = base.mmdebstrap_command("trixie")
    aptopts = [arg for arg in command if arg.startswith("--aptopt")]
    assert aptopts and not any("Invoke" in arg for arg in aptopts), aptopts
    hooks = [arg for arg in command if arg.startswith("--customize-hook") and base.APT_CONF in arg]
    assert hooks and "APT::Update::Post-Invoke" in hooks[0] and "DPkg::Post-Invoke" in hooks[0], (
        f"the clean-up hooks are not written into the image: {hooks}")


@pytest.mark.parametrize("suite", ["trixie", "bookworm"])
def test_sources_follow_the_suite(suite):
    assert all(f" {suite}" in line for line in base.sources(suite))
    assert base.raw_image(suite) == f"inception-base:{suite}-raw"


def test_a_failed_bootstrap_names_apt_s_errors(monkeypatch):
    """A real mmdebstrap run against a mirror that refuses connections."""
    monkeypatch.setattr(base, "MIRROR", "http://127.0.0.1:9/debian")
    with pytest.raises(base.BaseError) as failure:
        base.build_with_mmdebstrap("trixie")
    message = str(failure.value)
    assert "E: Failed to fetch http://127.0.0.1:9/debian" in message, message
    assert "Connection refused" in message or "Unable to connect" in message, message


def test_the_shared_layer_digest_follows_its_files(tmp_path, monkeypatch):
    """`invoke base` rebuilds when a file every image shares changes."""
    (tmp_path / "tools").mkdir()
    (tmp_path / "tools" / "helper").write_text("one\n")
    monkeypatch.setattr(base, "LAYER_CONTEXT", tmp_path)
    first = base.layer_digest()
    assert first == base.layer_digest()
    (tmp_path / "tools" / "helper").write_text("two\n")
    assert base.layer_digest() != first
