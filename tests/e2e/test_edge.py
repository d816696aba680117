"""The edge: HTTP/3 beside HTTP/1.1 and HTTP/2 on the one web port, and
connections to the apps that survive an app's crash."""

import threading
import time

import pytest
import requests

from inception import compose

from .conftest import kill_main_process, new_session, run_once, suite_has, wait_restarted_and_healthy

VHOSTS = ["", "adminer.", "static.", "todo."]


def curl_from_image(docker_api, settings, ca_file, args: str) -> dict[str, str]:
    """curl (the nginx image's: Debian 13's speaks HTTP/3) against the published
    port, once per virtual host, verified against the project CA; its
    --write-out line per host."""
    port = settings["HTTPS_PORT"]
    hosts = " ".join(prefix + settings.domain for prefix in VHOSTS)
    script = (f'for host in {hosts}; do printf "%s " "$host"; '
              f'curl --silent --show-error --max-time 20 --cacert /ca.crt --resolve "$host:{port}:127.0.0.1" '
              f'--output /dev/null {args} "https://$host:{port}/" 2>&1 || echo; done')
    out = run_once(docker_api, f"nginx:{compose.IMAGE_TAG}", ["-c", script], entrypoint="bash", network_mode="host",
                   volumes={ca_file: {"bind": "/ca.crt", "mode": "ro"}}).decode(errors="replace")
    return dict(line.split(" ", 1) for line in out.strip().splitlines() if " " in line)


def test_every_site_answers_over_http3_with_a_verified_certificate(docker_api, stack_up, ca_file):
    answers = curl_from_image(docker_api, stack_up, ca_file, "--http3-only --write-out '%{http_version} %{http_code}\\n'")
    if suite_has(stack_up, "http3"):
        wrong = {host: answer for host, answer in answers.items() if answer.strip() != "3 200"}
        assert len(answers) == len(VHOSTS) and not wrong, (
            f"over HTTP/3 (UDP {stack_up['HTTPS_PORT']}) these sites did not answer 200: {wrong or answers}")
    else:
        # bookworm's curl has no HTTP/3 either: what counts is that nginx has no QUIC.
        version = run_once(docker_api, f"nginx:{compose.IMAGE_TAG}", ["-V"], entrypoint="nginx", stderr=True)
        assert b"http_v3_module" not in version, "this suite's nginx was expected to have no HTTP/3"


def test_every_site_advertises_http3_on_the_published_port_over_http2(docker_api, stack_up, ca_file):
    answers = curl_from_image(docker_api, stack_up, ca_file,
                              "--http2 --write-out '%{http_version} %header{alt-svc}\\n'")
    expected = f'h3=":{stack_up["HTTPS_PORT"]}"; ma=86400' if suite_has(stack_up, "http3") else ""
    wrong = {host: answer for host, answer in answers.items() if answer.strip() != f"2 {expected}".strip()}
    assert len(answers) == len(VHOSTS) and not wrong, (
        f"expected HTTP/2 with Alt-Svc {expected or '(none)'!r} on every site, got {wrong or answers}")
