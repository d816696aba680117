"""Redis as WordPress's object cache: fewer queries, no stale data, graceful outage."""

import time
import json
import re
import uuid
from pathlib import Path

import pytest

from .conftest import assert_internal_only, redis_as, service_container, wait_for_log, wait_until

CASES = Path(__file__).parent / "php" / "object_cache_cases.php"
# Read from the PHP file itself, so a case added there is run and checked here.
CASE_NAMES = re.findall(r"^run_case\('([a-z0-9_]+)'", CASES.read_text(), re.M)


def redis_cli(docker_api, *args: str) -> str:
    """redis-cli as WordPress's Redis user: what the object cache can see."""
    return redis_as(docker_api, "wordpress", *args, check=True)


def flush_cache(docker_api) -> None:
    """Empties the cache as the host's tools do (cache-flush, Redis's maintenance user)."""
    result = service_container(docker_api, "redis").exec_run(["cache-flush"])
    assert result.exit_code == 0, f"cache-flush: {result.output.decode()}"


def questions(docker_api) -> int:
    """MariaDB's count of statements received, read as root (db-sql logs in
    with the password from the container's secret)."""
    result = service_container(docker_api, "mariadb").exec_run(
        ["db-sql", "-N", "-B", "-e", "SHOW GLOBAL STATUS LIKE 'Questions'"])
    assert result.exit_code == 0, f"db-sql SHOW GLOBAL STATUS: {result.output.decode()}"
    return int(result.output.decode().split()[1])


def queries_for(docker_api, http, url) -> int:
    before = questions(docker_api)
    # Past nginx's page cache, so PHP renders the page: the object cache's effect alone.
    r = http.get(url, headers={"X-Inception-Refresh": "1"}, timeout=30)
    assert r.status_code == 200, f"GET {url} -> {r.status_code}"
    return questions(docker_api) - before - 1  # minus the SHOW STATUS itself


def site_keys(docker_api, settings) -> list:
    # No `--count`: redis-cli 7.0 (bookworm) does not know it; --scan iterates to the end anyway.
    out = redis_cli(docker_api, "--scan", "--pattern", f"{settings['MYSQL_DATABASE']}:wp_:*")
    return [line for line in out.splitlines() if line]


@pytest.fixture(scope="module")
def case_results(stack_up, docker_api):
    container = service_container(docker_api, "wordpress")
    # The root filesystem is read-only: the code goes in as `php -r` text.
    code = CASES.read_text().removeprefix("<?php")
    result = container.exec_run(["php", "-r", code], user="www-data",
                                environment={"WORDPRESS_SECRETS_DIR": "/run/wordpress-secrets"})
    output = result.output.decode()
    assert result.exit_code == 0, f"the cache cases did not run: {output[-800:]}"
    return json.loads(output.strip().splitlines()[-1])


@pytest.mark.parametrize("case", CASE_NAMES)
def test_object_cache_semantics(case_results, case):
    assert case in case_results, f"case {case} did not run; ran {sorted(case_results)}"
    assert case_results[case] is None, f"{case}: {case_results[case]}"


def test_page_views_store_wordpress_keys_under_the_site_prefix(http, stack_up, docker_api):
    for _ in range(3):
        assert http.get(stack_up.url(), timeout=30).status_code == 200
    keys = site_keys(docker_api, stack_up)
    assert len(keys) > 10, f"only {len(keys)} keys under the site prefix after page views"
    assert any(":options:" in key for key in keys), f"no options cached: {keys[:10]}"


def test_cached_view_needs_far_fewer_database_queries(http, stack_up, docker_api, record_property):
    url = stack_up.url()
    http.get(url, timeout=30)
    flush_cache(docker_api)
    uncached = queries_for(docker_api, http, url)
    cached = queries_for(docker_api, http, url)
    record_property("queries_uncached", uncached)
    record_property("queries_cached", cached)
    print(f"home page: {uncached} queries with an empty cache, {cached} with a warm one")
    assert cached * 2 <= uncached, f"warm cache: {cached} queries, empty cache: {uncached} (expected at most half)"


def test_edited_title_is_seen_at_once(wordpress, admin, http):
    post = wordpress.create_post(admin, f"Before {uuid.uuid4().hex[:8]}", content="Body text.")
    for _ in range(2):  # the second view comes from the cache
        assert post["title"]["raw"] in http.get(post["link"], timeout=30).text
    new_title = f"After {uuid.uuid4().hex[:8]}"
    r = admin.post(wordpress.url(f"/wp-json/wp/v2/posts/{post['id']}"), json={"title": new_title},
                   headers={"X-WP-Nonce": wordpress.rest_nonce(admin)}, timeout=30)
    assert r.status_code == 200, f"editing the title -> {r.status_code}: {r.text[:200]}"
    page = http.get(post["link"], timeout=30).text
    assert new_title in page and post["title"]["raw"] not in page, "the page shows a stale title"


def test_unauthenticated_and_wrong_password_clients_are_refused(docker_api, stack_up):
    container = service_container(docker_api, "redis")
    anonymous = container.exec_run(["redis-cli", "-h", "127.0.0.1", "GET", "x"]).output.decode()
    assert "NOAUTH" in anonymous, f"an unauthenticated GET got: {anonymous!r}"
    wrong = container.exec_run(["redis-cli", "-h", "127.0.0.1", "--no-auth-warning", "-a", "wrong", "PING"])
    assert "WRONGPASS" in wrong.output.decode() or "invalid" in wrong.output.decode(), wrong.output.decode()


def test_redis_is_not_reachable_from_the_host(docker_api, stack_up):
    assert_internal_only(docker_api, "redis", "wordpress-redis", 6379)


@pytest.mark.disruptive
def test_site_answers_while_redis_is_down_and_caching_resumes(http, stack_up, docker_api):
    redis = service_container(docker_api, "redis")
    wordpress = service_container(docker_api, "wordpress")
    since = int(time.time())
    redis.stop()
    try:
        for _ in range(3):
            r = http.get(stack_up.url(), timeout=30)
            assert r.status_code == 200 and stack_up["WP_TITLE"] in r.text, f"with Redis down: {r.status_code}"
        logs = wait_for_log(wordpress, since, "object-cache: WARNING")
        warnings = [line for line in logs.splitlines() if "Warning" in line or "WARNING" in line]
        assert len(warnings) == 1 and "object-cache: WARNING" in warnings[0], (
            f"expected one clear warning for the outage, got {len(warnings)}: {warnings[:5]}")
    finally:
        redis.start()
    wait_until(lambda: redis.reload() or redis.attrs["State"].get("Health", {}).get("Status") == "healthy",
               60, "redis to be healthy again")
    for _ in range(2):
        assert http.get(stack_up.url(), timeout=30).status_code == 200
    assert site_keys(docker_api, stack_up), "caching did not resume after Redis came back"
    wait_for_log(wordpress, since, "caching resumed")
