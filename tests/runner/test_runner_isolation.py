"""The test runner never touches the user's own stack: with it up and a
marker in its data, `invoke test` runs, then the marker, the site's content
and the containers (ids, start times, restarts) are exactly as before.

Runs against the user's stack (`make` first); CI runs it on every push.
"""

import hashlib
import os
import subprocess
import sys
import uuid

import pytest
import requests

from inception import compose, settings as config, stack
from tests.loopback import names_to_loopback

ROOT = config.ROOT
pytestmark = pytest.mark.runner


def files_digest(settings) -> str:
    """One hash over the path, size and content of every WordPress file."""
    listing = compose.exec_in(settings, "wordpress", ["bash", "-c",
                              "cd /var/www/html && find . -type f -print0 | sort -z | xargs -0 sha256sum"],
                              user="www-data", timeout=300)
    assert listing.returncode == 0, listing.stderr.decode()
    return hashlib.sha256(listing.stdout).hexdigest()


@pytest.fixture(autouse=True)
def user_names_to_loopback():
    """The user's host names resolve to 127.0.0.1 in this process."""
    with names_to_loopback(config.load().hostnames):
        yield


def public_posts(settings) -> list:
    session = requests.Session()
    session.trust_env = False  # REQUESTS_CA_BUNDLE would override verify
    r = session.get(settings.url(path="/wp-json/wp/v2/posts"), params={"per_page": 100, "_fields":
                    "id,modified_gmt,title"}, verify=str(settings.secrets_dir / "tls" / "ca.crt"), timeout=30)
    assert r.status_code == 200, f"the user's site answers {r.status_code}"
    return r.json()


def test_a_full_run_leaves_the_users_stack_untouched(tmp_path):
    user = config.load()
    api = compose.client()
    before = stack.snapshot(api, user)
    assert before, "the user's stack is not running: run `make` first"
    marker = f"marker {uuid.uuid4()}\n"
    wrote = compose.exec_in(user, "wordpress", ["bash", "-c", "cat > /var/www/html/.runner-marker"],
                            user="www-data", input=marker.encode())
    assert wrote.returncode == 0, wrote.stderr.decode()
    digest = files_digest(user)
    posts = public_posts(user)

    env = {key: value for key, value in os.environ.items() if key != "INCEPTION_ENV_FILE"}
    run = subprocess.run([sys.executable, "-m", "invoke", "test", "--smoke"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=1800)
    assert run.returncode == 0, f"`invoke test --smoke` failed:\n{run.stdout[-3000:]}\n{run.stderr[-2000:]}"

    assert stack.compare_snapshot(api, user, before) == [], "the suite restarted or replaced the user's containers"
    kept = compose.exec_in(user, "wordpress", ["cat", "/var/www/html/.runner-marker"], user="www-data")
    assert kept.stdout.decode() == marker, "the marker in the user's data changed"
    assert files_digest(user) == digest, "a file of the user's WordPress changed during the suite"
    assert public_posts(user) == posts, "the user's posts changed during the suite"
    compose.exec_in(user, "wordpress", ["rm", "-f", "/var/www/html/.runner-marker"], user="www-data")
