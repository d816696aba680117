"""The static site: types, compression, caching, 404, no PHP, renders cleanly."""

import re

import pytest

from inception import compose

from .conftest import run_once


@pytest.fixture
def site(http, stack_up):
    base = stack_up.url(host=f"static.{stack_up.domain}", path="")
    home = http.get(base + "/", timeout=30)
    assert home.status_code == 200, f"GET {base}/ -> {home.status_code}"
    return base, home


def asset(home, pattern):
    found = re.search(pattern, home.text)
    assert found, f"{pattern} not referenced by the home page"
    return found.group(1)


def test_home_page_is_compressed_html(http, site):
    base, _ = site
    r = http.get(base + "/", headers={"Accept-Encoding": "gzip"}, timeout=30)
    assert r.headers["Content-Type"] == "text/html; charset=utf-8", r.headers["Content-Type"]
    assert r.headers.get("Content-Encoding") == "gzip", "home page not compressed"
    assert "no-cache" in r.headers.get("Cache-Control", ""), "pages must be revalidated"


@pytest.mark.parametrize("pattern, content_type", [
    (r'href="(/assets/style\.[0-9a-f]{10}\.css)"', "text/css"),
    (r'src="(/assets/architecture\.[0-9a-f]{10}\.svg)"', "image/svg+xml"),
])
def test_assets_have_types_compression_and_long_lifetimes(http, site, pattern, content_type):
    base, home = site
    path = asset(home, pattern)
    r = http.get(base + path, headers={"Accept-Encoding": "gzip"}, timeout=30)
    assert r.status_code == 200, f"GET {path} -> {r.status_code}"
    assert r.headers["Content-Type"].startswith(content_type), f"{path}: {r.headers['Content-Type']}"
    assert r.headers.get("Content-Encoding") == "gzip", f"{path} not compressed"
    cache = r.headers.get("Cache-Control", "")
    assert "max-age=31536000" in cache and "immutable" in cache, f"{path}: Cache-Control {cache!r}"


def test_unknown_path_gets_the_custom_404(http, site):
    base, _ = site
    r = http.get(base + "/no/such/page", timeout=30)
    assert r.status_code == 404, f"unknown path -> {r.status_code}"
    assert "Page not found" in r.text and r.headers["Content-Type"].startswith("text/html"), r.text[:200]


def test_security_headers_match_the_main_site(http, site):
    base, _ = site
    r = http.get(base + "/", timeout=30)
    for header in ("Strict-Transport-Security", "X-Content-Type-Options", "X-Frame-Options",
                   "Referrer-Policy", "Content-Security-Policy"):
        assert header in r.headers, f"{header} missing on the static site"


def test_no_external_resources(site):
    _, home = site
    external = re.findall(r'(?:src|href)="((?:https?:)?//[^"]+)"', home.text)
    assert not external, f"resources from other hosts: {external}"


def test_static_image_has_no_php(docker_api, stack_up):
    output = run_once(
        docker_api, f"static:{compose.IMAGE_TAG}",
        ["-c", "command -v php php8.4 php8.2 php-fpm php-fpm8.4 php-fpm8.2; dpkg-query -W -f '${Package}\\n' | grep -i php; true"],
        entrypoint="bash").decode().strip()
    assert output == "", f"PHP in the static image: {output}"


def test_site_renders_in_chromium_without_errors(page, stack_up):
    url = stack_up.url(host=f"static.{stack_up.domain}")
    response = page.page.goto(url, wait_until="networkidle")
    assert response.status == 200, f"Chromium got {response.status} for {url}"
    assert page.page.locator("h1").inner_text() == "Inception"
    width = page.page.eval_on_selector("figure img", "img => img.complete ? img.naturalWidth : 0")
    assert width > 0, "the architecture picture did not load"
    page.screenshot("static-site.png")
    assert not page.problems, f"the page reported problems: {page.problems}"
