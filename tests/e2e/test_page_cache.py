"""nginx's micro-cache: anonymous pages from the cache, personal ones never."""

import gzip
import uuid

import pytest


def test_anonymous_home_page_is_served_from_the_cache(http, stack_up):
    http.get(stack_up.url(), timeout=30)
    r = http.get(stack_up.url(), timeout=30)
    assert r.status_code == 200 and r.headers.get("X-Cache") in ("HIT", "UPDATING", "STALE"), (
        f"a repeated anonymous view was not served from the cache: X-Cache={r.headers.get('X-Cache')}")


def test_logged_in_requests_are_never_cached(wordpress, admin):
    for path in ("/", "/wp-admin/"):
        for _ in range(2):
            r = admin.get(wordpress.url(path), timeout=30)
            assert r.status_code == 200
            assert r.headers.get("X-Cache") in (None, "BYPASS"), (
                f"logged-in GET {path} came from the cache: X-Cache={r.headers.get('X-Cache')}")
    assert "wp-admin-bar" in admin.get(wordpress.url("/"), timeout=30).text, "the admin bar is missing"


@pytest.mark.parametrize("cookie", ["comment_author_abc=Jo", "wp-postpass_abc=x"])
def test_comment_authors_and_password_holders_bypass_the_cache(http, stack_up, cookie):
    r = http.get(stack_up.url(), headers={"Cookie": cookie}, timeout=30)
    assert r.headers.get("X-Cache") == "BYPASS", f"{cookie}: X-Cache={r.headers.get('X-Cache')}"


def test_previews_and_posts_bypass_the_cache(http, stack_up):
    r = http.get(stack_up.url(path="/?p=1&preview=true"), timeout=30, allow_redirects=False)
    assert r.headers.get("X-Cache") == "BYPASS", f"preview: X-Cache={r.headers.get('X-Cache')}"
    r = http.post(stack_up.url(path="/wp-comments-post.php"), data={}, timeout=30, allow_redirects=False)
    assert r.headers.get("X-Cache") in (None, "BYPASS"), f"POST: X-Cache={r.headers.get('X-Cache')}"


def assert_cached(http, url, headers=None):
    """The page is in the cache now (else an edit test would pass with the cache off)."""
    statuses = [http.get(url, headers=headers, timeout=30).headers.get("X-Cache") for _ in range(3)]
    assert "HIT" in statuses, f"the page never came from the cache before the edit: X-Cache {statuses}"


def test_new_post_shows_on_the_cached_home_page_at_once(wordpress, admin, http, stack_up):
    # Cached now; once its second is over, a plain cache would serve this
    # stale copy while it renders a new one in the background.
    assert_cached(http, stack_up.url())
    title = f"Fresh on the home page {uuid.uuid4().hex[:8]}"
    wordpress.create_post(admin, title)
    r = http.get(stack_up.url(), timeout=30)
    assert title in r.text, f"the cached home page misses the new post (X-Cache={r.headers.get('X-Cache')})"


@pytest.mark.parametrize("encoding", ["gzip", "identity"])
def test_cached_pages_keep_a_compressed_and_a_plain_copy(http, stack_up, encoding):
    """Browsers get the page compressed once by PHP and then from the cache;
    clients without gzip get a plain copy, never gzip bytes they cannot read."""
    headers = {"Accept-Encoding": encoding}
    for _ in range(2):
        r = http.get(stack_up.url(), headers=headers, timeout=30, stream=True)
        raw = r.raw.read(decode_content=False)
    assert r.status_code == 200 and r.headers.get("X-Cache") in ("HIT", "UPDATING", "STALE"), (
        f"{encoding}: not from the cache: X-Cache={r.headers.get('X-Cache')}")
    compressed = r.headers.get("Content-Encoding") == "gzip"
    assert compressed == (encoding == "gzip"), f"{encoding}: Content-Encoding={r.headers.get('Content-Encoding')}"
    body = gzip.decompress(raw) if compressed else raw
    assert b"</html>" in body, f"{encoding}: the body is not the page ({len(raw)} bytes)"


def test_new_post_shows_at_once_for_plain_clients_too(wordpress, admin, http, stack_up):
    plain = {"Accept-Encoding": "identity"}
    assert_cached(http, stack_up.url(), headers=plain)
    title = f"Fresh for plain clients {uuid.uuid4().hex[:8]}"
    wordpress.create_post(admin, title)
    r = http.get(stack_up.url(), headers=plain, timeout=30)
    assert title in r.text, f"the plain cached copy misses the new post (X-Cache={r.headers.get('X-Cache')})"
