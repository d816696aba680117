"""The fault suite: crashes under a stream of writes lose no acknowledged
write, and every service comes back by itself. Crashes are SIGKILL from the
host to the container's main process (`docker kill` would be a manual stop,
which restart policies ignore)."""

import threading
import time
import uuid

import pytest

from tests import privileges

from .conftest import service_container, kill_main_process, wait_for_log, wait_restarted_and_healthy, wait_until

pytestmark = [pytest.mark.disruptive, pytest.mark.fault]

ROUNDS = 3



class WriteStream:
    """Writes in a loop from a thread; remembers what was acknowledged."""

    def __init__(self, write):
        self.write = write
        self.acknowledged = []
        self.failed = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        n = 0
        while not self.stop.is_set():
            n += 1
            try:
                ident = self.write(n)
            except Exception:  # refused, reset, timed out: not acknowledged
                ident = None
            if ident is None:
                self.failed += 1
                time.sleep(0.05)
            else:
                self.acknowledged.append(ident)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(timeout=60)


def run_rounds(docker_api, service, write, exists, record_property):
    report = []
    for round_number in range(1, ROUNDS + 1):
        with WriteStream(write) as stream:
            wait_until(lambda: len(stream.acknowledged) >= 5, 60, "the first acknowledged writes")
            container, restarts, pid = kill_main_process(docker_api, service)
            wait_restarted_and_healthy(container, restarts, pid)
            settled = len(stream.acknowledged)
            wait_until(lambda: len(stream.acknowledged) >= settled + 5, 60, "writes to succeed again")
        lost = [ident for ident in stream.acknowledged if not exists(ident)]
        report.append(f"round {round_number}: {len(stream.acknowledged)} acknowledged, "
                      f"{stream.failed} refused during the crash, {len(lost)} lost")
        assert not lost, f"{service}: acknowledged writes lost after SIGKILL: {lost[:10]} ({report[-1]})"
    print(f"\n{service}: " + "; ".join(report))
    record_property(f"{service}_sigkill_rounds", report)


def test_mariadb_sigkill_loses_no_acknowledged_post(wordpress, admin, docker_api, record_property):
    nonce = {"value": wordpress.rest_nonce(admin)}
    tag = uuid.uuid4().hex[:6]

    def write(n):
        r = admin.post(wordpress.url("/wp-json/wp/v2/posts"), timeout=10,
                       headers={"X-WP-Nonce": nonce["value"]},
                       json={"title": f"stream {tag} {n}", "content": "x", "status": "publish"})
        if r.status_code == 403:  # the nonce check needs the database; fetch a fresh one
            nonce["value"] = wordpress.rest_nonce(admin)
        return r.json()["id"] if r.status_code == 201 else None

    def exists(post_id):
        r = admin.get(wordpress.url(f"/wp-json/wp/v2/posts/{post_id}"), timeout=30,
                      headers={"X-WP-Nonce": nonce["value"]})
        return r.status_code == 200

    run_rounds(docker_api, "mariadb", write, exists, record_property)


def test_document_store_sigkill_loses_no_acknowledged_todo(stack_up, todo_session, docker_api, record_property):
    session = todo_session
    base = stack_up.url(host=f"todo.{stack_up.domain}", path="/api/todos")
    tag = uuid.uuid4().hex[:6]

    def write(n):
        r = session.post(base, json={"title": f"stream {tag} {n}"}, timeout=10)
        return r.json()["id"] if r.status_code == 201 else None

    def exists(todo_id):
        return session.get(f"{base}/{todo_id}", timeout=30).status_code == 200

    run_rounds(docker_api, "mongodb", write, exists, record_property)


@pytest.mark.parametrize("service", sorted(set(privileges.CAPABILITIES) - set(privileges.CONFIGURATION_ONLY)))
def test_service_comes_back_after_sigkill(docker_api, stack_up, http, service):
    container, restarts, pid = kill_main_process(docker_api, service)
    wait_restarted_and_healthy(container, restarts, pid)
    r = http.get(stack_up.url(), timeout=30)
    assert r.status_code == 200, f"after {service} came back the site answers {r.status_code}"


def test_unreachable_database_gets_503_and_one_clear_log_line(docker_api, stack_up, http):
    """Not a crash: the database is stopped. Pages not in the micro-cache answer
    503 with Retry-After (WordPress's own page says 500), and the log says what
    to check."""
    mariadb = service_container(docker_api, "mariadb")
    wordpress = service_container(docker_api, "wordpress")
    since = int(time.time())
    mariadb.stop()
    try:
        r = http.get(stack_up.url(path=f"/?s=unreachable-{uuid.uuid4().hex[:8]}"), timeout=30)
        assert r.status_code == 503 and r.headers.get("Retry-After") == "30", (
            f"with the database stopped: {r.status_code}, Retry-After={r.headers.get('Retry-After')}")
        assert "try again" in r.text.lower(), r.text[:200]
        wait_for_log(wordpress, since, "cannot reach the database at mariadb")
    finally:
        mariadb.start()
    wait_until(lambda: mariadb.reload() or mariadb.attrs["State"].get("Health", {}).get("Status") == "healthy",
               120, "mariadb to be healthy again")
    assert http.get(stack_up.url(), timeout=30).status_code == 200
