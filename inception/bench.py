"""`invoke bench`: throughput of each path through the stack, against ceilings
measured in the same run on the same machine.

Load comes from wrk and h2load (Debian packages) on the host, over the
published port. Each scenario runs `repeats` times; the report gives the
median and the spread (min-max). Ceilings: an nginx started on the host with
the same TLS settings serving the same files (the proxy path's limit), the
same nginx in the stack serving the home page's bytes as a file (the page
cache's limit), and `openssl speed` for ECDSA P-256 signatures (the
handshake limit).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import compose
from .errors import InceptionError
from .settings import ROOT, Settings

OUT_DIR = ROOT / "artifacts" / "bench"
TIMINGS = ROOT / "artifacts" / "timings.json"
CEILING_PORT = 18443
STACK_NGINX_CONF = ROOT / "srcs" / "requirements" / "nginx" / "conf" / "nginx.conf"
TOOLS = {"wrk": "wrk", "h2load": "nghttp2-client", "nginx": "nginx-light (or nginx)", "openssl": "openssl"}


class BenchError(InceptionError):
    pass


@dataclass
class Scenario:
    name: str
    what: str
    host: str
    path: str
    connections: int = 32
    headers: dict = field(default_factory=dict)
    method: str = "GET"
    body: str = ""
    port: int | None = None
    tool: str = "wrk"
    ceiling: str | None = None


def record_timing(key: str, seconds: float) -> None:
    """Remember how long base/build/up took, for the bench's footprint table."""
    TIMINGS.parent.mkdir(parents=True, exist_ok=True)
    data = json.loads(TIMINGS.read_text()) if TIMINGS.exists() else {}
    data[key] = round(seconds, 1)
    TIMINGS.write_text(json.dumps(data, indent=2) + "\n")


def missing_tools() -> list[str]:
    return [f"{tool} (apt-get install {package})" for tool, package in TOOLS.items() if not shutil.which(tool)]


def run_wrk(url: str, scenario: Scenario, duration: int) -> dict:
    cmd = ["wrk", "--threads", "2", "--connections", str(scenario.connections), "--duration", f"{duration}s",
           "--timeout", "10s", "--latency", "--header", f"Host: {scenario.host}"]
    for key, value in scenario.headers.items():
        cmd += ["--header", f"{key}: {value}"]
    script = None
    if scenario.method != "GET":
        script = tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False)
        script.write(f'wrk.method = "{scenario.method}"\nwrk.body = {json.dumps(scenario.body)}\n'
                     'wrk.headers["Content-Type"] = "application/json"\n')
        script.close()
        cmd += ["--script", script.name]
    try:
        out = subprocess.run(cmd + [url], capture_output=True, text=True, timeout=duration + 60).stdout
    finally:
        if script:
            os.unlink(script.name)
    return parse_wrk(out, scenario.name)


def parse_wrk(out: str, name: str) -> dict:
    """wrk's report: the rate of successful answers, failures, latency percentiles."""
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    total = re.search(r"(\d+) requests in", out)
    if not rate or not total:
        raise BenchError(f"wrk printed no rate for {name}:\n{out[-800:]}")
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    failed = int(errors.group(1)) if errors else 0
    # Requests that got no answer at all (refused, reset, timed out).
    sockets = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    unanswered = sum(int(n) for n in sockets.groups()) if sockets else 0
    p50 = re.search(r"50%\s+([\d.]+)(us|ms|s)", out)
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    # Only answers that succeeded count (a rate limit's 429s are not throughput).
    ok_share = 1 - failed / max(int(total.group(1)), 1)
    return {"rps": float(rate.group(1)) * ok_share, "non_2xx": failed, "socket_errors": unanswered,
            "p50_ms": float(p50.group(1)) * scale[p50.group(2)] if p50 else None,
            "p99_ms": float(p99.group(1)) * scale[p99.group(2)] if p99 else None}


def run_h2load(url: str, scenario: Scenario, duration: int) -> dict:
    # The real host name in the URL (SNI and :authority), connected to loopback.
    address = url.split("//", 1)[1].split("/", 1)[0]
    url = url.replace(address, f"{scenario.host}:{address.rsplit(':', 1)[1]}", 1)
    # A fixed number of requests, not --duration: h2load's clients do not
    # reconnect after nginx's GOAWAY at keepalive_requests (10000), so each
    # client stays below it. About `duration` seconds at 80k req/s.
    per_client = min(9000, duration * 80000 // scenario.connections)
    cmd = ["h2load", "--requests", str(per_client * scenario.connections), "--clients", str(scenario.connections),
           "--threads", "2", "--max-concurrent-streams", "10", f"--connect-to={address}", url]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=duration * 20 + 60).stdout
    return parse_h2load(out, scenario.name)


def parse_h2load(out: str, name: str) -> dict:
    """h2load's report: the rate of successful requests and the failures."""
    rate = re.search(r"finished in [^,]+, ([\d.]+) req/s", out)
    counts = re.search(r"(\d+) total, \d+ started, \d+ done, (\d+) succeeded, (\d+) failed", out)
    if not rate or not counts:
        raise BenchError(f"h2load printed no rate for {name}:\n{out[-800:]}")
    total, succeeded, failed = (int(n) for n in counts.groups())
    return {"rps": float(rate.group(1)) * succeeded / max(total, 1), "non_2xx": failed,
            "p50_ms": None, "p99_ms": None}


def summarise(scenario: Scenario, runs: list[dict]) -> dict:
    rates = sorted(run["rps"] for run in runs)
    return {"scenario": scenario.name, "what": scenario.what, "tool": scenario.tool,
            "connections": scenario.connections, "median_rps": statistics.median(rates),
            "min_rps": rates[0], "max_rps": rates[-1], "runs_rps": [round(run["rps"], 1) for run in runs],
            "p50_ms": statistics.median(r["p50_ms"] for r in runs) if runs[0]["p50_ms"] is not None else None,
            "p99_ms": statistics.median(r["p99_ms"] for r in runs) if runs[0]["p99_ms"] is not None else None,
            "non_2xx": sum(r["non_2xx"] for r in runs),
            "socket_errors": sum(r.get("socket_errors", 0) for r in runs), "ceiling": scenario.ceiling}


def measure_group(settings: Settings, group: list[Scenario], duration: int, repeats: int) -> dict:
    """Run a scenario and its ceiling in turns (A B A B ...), so that a slow
    minute of this shared machine weighs on both, not on one."""
    runs = {scenario.name: [] for scenario in group}
    for _ in range(repeats):
        for scenario in group:
            port = scenario.port or int(settings["HTTPS_PORT"])
            runner = run_h2load if scenario.tool == "h2load" else run_wrk
            runs[scenario.name].append(runner(f"https://127.0.0.1:{port}{scenario.path}", scenario, duration))
    results = {scenario.name: summarise(scenario, runs[scenario.name]) for scenario in group}
    for scenario in group:
        if scenario.ceiling in runs:
            pairs = zip(runs[scenario.name], runs[scenario.ceiling])
            results[scenario.name]["pair_ratios"] = [round(a["rps"] / b["rps"], 3) for a, b in pairs if b["rps"]]
    return results


class HostNginx:
    """nginx on the host with the stack's TLS, keep-alive and header settings:
    the proxy path's ceiling."""

    CONF = """
worker_processes auto;
pid {root}/nginx.pid;
error_log {root}/error.log warn;
events {{ worker_connections 2048; }}
http {{
    include /etc/nginx/mime.types;
    access_log off;
    server_tokens off;
    # The security headers send Alt-Svc (HTTP/3) as the stack's nginx does:
    # the same header bytes, though this nginx only listens on TCP.
    map $server_port $alt_svc {{
        default 'h3=":{port}"; ma=86400';
    }}
{shared}
    client_body_temp_path {root}/body;
    proxy_temp_path {root}/proxy;
    fastcgi_temp_path {root}/fastcgi;
    uwsgi_temp_path {root}/uwsgi;
    scgi_temp_path {root}/scgi;
    server {{
        listen 127.0.0.1:{port} ssl http2;
        server_name _;
        ssl_certificate {tls}/server.crt;
        ssl_certificate_key {tls}/server.key;
        root {root}/www;
        include {snippets}/security-headers.conf;
    }}
}}
"""

    # Taken from the stack's own nginx.conf, so the two cannot drift apart.
    SHARED = re.compile(r"^\s*(?:ssl_(?!certificate)\w+|keepalive_\w+|sendfile|tcp_nopush)\s.*;$", re.M)

    def __init__(self, files: dict[str, bytes], tls: Path, suite: str = "trixie"):
        self.files = files
        self.tls = tls
        self.suite = suite
        self.dir = None
        self.process = None

    def __enter__(self):
        self.dir = tempfile.mkdtemp(prefix="inception-bench-nginx-")
        # nginx's workers run as an unprivileged user: public test files only here.
        os.chmod(self.dir, 0o755)
        www = Path(self.dir) / "www"
        www.mkdir(mode=0o755)
        for name, data in self.files.items():
            (www / name).write_bytes(data)
            (www / name).chmod(0o644)
        conf = Path(self.dir) / "nginx.conf"
        # The TLS groups live in the image's suite folder (nginx.conf includes it).
        stack_text = STACK_NGINX_CONF.read_text() + "\n" + (
            STACK_NGINX_CONF.parent / "suites" / self.suite / "tls-groups.conf").read_text()
        shared = "\n".join(host_curves(match.group(0)) for match in self.SHARED.finditer(stack_text))
        conf.write_text(self.CONF.format(root=self.dir, port=CEILING_PORT, tls=self.tls, shared=shared,
                                         snippets=STACK_NGINX_CONF.parent / "snippets"))
        self.process = subprocess.Popen(["nginx", "-e", f"{self.dir}/error.log", "-c", str(conf),
                                         "-g", "daemon off;"], stderr=subprocess.PIPE)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            probe = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{CEILING_PORT}"],
                                   input=b"", capture_output=True, timeout=10)
            if probe.returncode == 0:
                return self
            if self.process.poll() is not None:
                raise BenchError(f"the host nginx did not start: {self.process.stderr.read().decode()[-500:]}")
            time.sleep(0.2)
        raise BenchError(f"the host nginx did not listen on 127.0.0.1:{CEILING_PORT}")

    def __exit__(self, *exc):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGQUIT)
            self.process.wait(timeout=20)
        shutil.rmtree(self.dir, ignore_errors=True)


def host_curves(line: str) -> str:
    """The stack's ssl_ecdh_curve line, less the groups the host's OpenSSL
    lacks (its nginx would refuse to start): the image's OpenSSL 3.5 offers
    X25519MLKEM768, a host's 3.0 does not. Any other line is returned as is."""
    match = re.match(r"^(\s*ssl_ecdh_curve\s+)(\S+);$", line)
    if not match:
        return line
    kept = [group for group in match.group(2).split(":") if host_has_group(group)]
    return f"{match.group(1)}{':'.join(kept)};" if kept else ""


def host_has_group(group: str) -> bool:
    # s_client checks its -groups before it connects: the closed port is never reached.
    probe = subprocess.run(["openssl", "s_client", "-groups", group, "-connect", "127.0.0.1:9"],
                           input=b"", capture_output=True, timeout=10)
    return b"cannot be set" not in probe.stderr and b"SSL_CONF_cmd" not in probe.stderr


def write_svg(results: list[dict], path: Path) -> None:
    """Bars: each scenario's median rate as a share of its ceiling."""
    rows = [r for r in results if r.get("ratio") is not None]
    width, bar_h, gap, left = 760, 22, 12, 260
    height = 60 + len(rows) * (bar_h + gap)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'font-family="sans-serif" font-size="13">',
             '<text x="10" y="22" font-size="15" font-weight="bold">Median throughput as a share of its ceiling</text>']
    scale = (width - left - 80) / 1.0
    x100 = left + scale
    parts.append(f'<line x1="{x100}" y1="34" x2="{x100}" y2="{height - 10}" stroke="#888" stroke-dasharray="4 3"/>')
    parts.append(f'<text x="{x100 - 14}" y="46" fill="#555">100%</text>')
    for i, row in enumerate(rows):
        y = 56 + i * (bar_h + gap)
        ratio = min(row["ratio"], 1.2)
        colour = "#1d4ed8" if row["ratio"] >= row.get("target", 0) else "#b91c1c"
        parts.append(f'<text x="10" y="{y + 16}">{row["scenario"]}</text>')
        parts.append(f'<rect x="{left}" y="{y}" width="{ratio * scale:.1f}" height="{bar_h}" fill="{colour}"/>')
        parts.append(f'<text x="{left + ratio * scale + 6:.1f}" y="{y + 16}">{row["ratio"] * 100:.0f}% '
                     f'({row["median_rps"]:.0f}/s)</text>')
    parts.append("</svg>")
    path.write_text("\n".join(parts) + "\n")


def markdown_table(results: list[dict]) -> str:
    lines = ["| scenario | what | median req/s | spread | p50 ms | p99 ms | failed | ceiling | share |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in results:
        share = f"{r['ratio'] * 100:.0f}%" if r.get("ratio") is not None else "-"
        p50 = f"{r['p50_ms']:.1f}" if r.get("p50_ms") is not None else "-"
        p99 = f"{r['p99_ms']:.1f}" if r.get("p99_ms") is not None else "-"
        lines.append(f"| {r['scenario']} | {r['what']} | {r['median_rps']:.0f} | {r['min_rps']:.0f}-"
                     f"{r['max_rps']:.0f} | {p50} | {p99} | {r['non_2xx']} | {r.get('ceiling') or '-'} | {share} |")
    return "\n".join(lines)


def _curl(settings: Settings, host: str, path: str, *args: str, stdin: bytes | None = None) -> bytes:
    port = settings["HTTPS_PORT"]
    cmd = ["curl", "--silent", "--show-error", "--fail", "--cacert", str(settings.secrets_dir / "tls" / "ca.crt"),
           "--resolve", f"{host}:{port}:127.0.0.1", *args, f"https://{host}:{port}{path}"]
    result = subprocess.run(cmd, input=stdin, capture_output=True, timeout=60)
    if result.returncode != 0:
        raise BenchError(f"GET {host}{path} failed: {result.stderr.decode(errors='replace').strip()}")
    return result.stdout


def admin_cookie(settings: Settings) -> str:
    """Log the administrator in (password on curl's stdin, not argv)."""
    with tempfile.TemporaryDirectory() as work:
        jar = f"{work}/jar"
        _curl(settings, settings.domain, "/wp-login.php", "--cookie-jar", jar, "--output", "/dev/null")
        password = (settings.secrets_dir / "wp_admin_password").read_text().strip()
        form = f"log={settings['WP_ADMIN_USER']}&pwd={password}&testcookie=1&wp-submit=Log+In".encode()
        _curl(settings, settings.domain, "/wp-login.php", "--cookie", jar, "--cookie-jar", jar,
              "--data-binary", "@-", "--output", "/dev/null", stdin=form)
        cookies = [line.split("\t") for line in Path(jar).read_text().splitlines()
                   if line.count("\t") >= 6]
    pairs = [f"{parts[5]}={parts[6]}" for parts in cookies if parts[5].startswith("wordpress")]
    if not any(pair.startswith("wordpress_logged_in_") for pair in pairs):
        raise BenchError("could not log the administrator in for the admin-page scenario")
    return "; ".join(pairs)


def todo_cookie(settings: Settings, username: str) -> str:
    """Register a todo account for the bench; its session cookie as a Cookie
    header value (the account's password goes on curl's stdin, not argv)."""
    with tempfile.TemporaryDirectory() as work:
        jar = f"{work}/jar"
        body = json.dumps({"username": username, "password": os.urandom(16).hex()}).encode()
        _curl(settings, f"todo.{settings.domain}", "/api/auth/register", "--cookie-jar", jar,
              "--header", "Content-Type: application/json", "--data-binary", "@-", "--output", "/dev/null",
              stdin=body)
        cookies = [line.split("\t") for line in Path(jar).read_text().splitlines() if line.count("\t") >= 6]
    pairs = [f"{parts[5]}={parts[6]}" for parts in cookies if parts[5].endswith("todo_session")]
    if not pairs:
        raise BenchError("could not sign a todo account in for the todo scenarios")
    return pairs[0]


def _docker_exec(settings: Settings, container: str, user: str, script: str, input: bytes | None = None) -> str:
    result = compose.exec_in(settings, container, ["bash", "-c", script], user=user, input=input, timeout=120)
    if result.returncode != 0:
        raise BenchError(f"{container}: {result.stderr.decode(errors='replace').strip()[-300:]}")
    return result.stdout.decode(errors="replace")


# Removes the bench's todo account with its todos and sessions (the app's own
# store module, in the todo container, as the todo user). {user} is the
# generated name: [a-z0-9-] only, so it needs no quoting.
TODO_CLEANUP = ("python3 -c 'import sys; sys.path.insert(0, \"/opt/todo\"); from todo import store; db = store.connect();"
                "print(db.todos.delete_many({{\"owner\": \"{user}\"}}).deleted_count,"
                " db.sessions.delete_many({{\"user\": \"{user}\"}}).deleted_count,"
                " db.users.delete_one({{\"_id\": \"{user}\"}}).deleted_count)'")


def idle_memory(api, settings: Settings) -> dict:
    """Each container's memory in use (cgroup usage less page cache), in MB."""
    from .compose import project_containers

    usage = {}
    for container in project_containers(api, settings, all_=False):
        stats = container.stats(stream=False)["memory_stats"]
        cache = stats.get("stats", {}).get("total_inactive_file", stats.get("stats", {}).get("inactive_file", 0))
        usage[container.name] = round((stats.get("usage", 0) - cache) / 2**20, 1)
    return usage


def footprint(api, settings: Settings, services: list[str]) -> dict:
    from .compose import IMAGE_TAG

    images = {name: round(api.images.get(f"{name}:{IMAGE_TAG}").attrs["Size"] / 2**20, 1) for name in services}
    images["inception-base"] = round(api.images.get(settings.base_image).attrs["Size"] / 2**20, 1)
    save = subprocess.Popen(compose.docker_command("save", settings.base_image), stdout=subprocess.PIPE)
    gz = subprocess.run(["gzip", "-9", "-c"], stdin=save.stdout, capture_output=True)
    save.wait()
    memory = idle_memory(api, settings)
    return {"image_size_mb": images, "base_image_gzip_mb": round(len(gz.stdout) / 2**20, 1),
            "idle_memory_mb": memory, "idle_memory_total_mb": round(sum(memory.values()), 1),
            "timings_s": json.loads(TIMINGS.read_text()) if TIMINGS.exists() else {}}


TARGETS = {"static_1k": 0.70, "wp_home_cached": 0.50, "wp_home_cached_gzip": 0.50, "static_site": 0.50}


ONE_KB = (b"<!doctype html><title>1 KB</title><p>" + b"x" * 1024)[:1023] + b"\n"


def prepare(settings: Settings, say=print) -> dict:
    """What the scenarios need: a 1 KB file and the home page as files in
    WordPress's volume, an admin session, a todo account with 20 todos."""
    say("preparing: a 1 KB file, the home pages as files, an admin session, 20 todos")
    home = _curl(settings, settings.domain, "/")
    static_home = _curl(settings, f"static.{settings.domain}", "/")
    _docker_exec(settings, "wordpress", "www-data", "cat > /var/www/html/bench-1k.html", input=ONE_KB)
    _docker_exec(settings, "wordpress", "www-data", "cat > /var/www/html/bench-home.html", input=home)
    _docker_exec(settings, "wordpress", "www-data", "cat > /var/www/html/bench-static-home.html", input=static_home)
    # The gzip ceiling serves precompressed bytes (gzip_static), as the
    # micro-cache does, at the level PHP compresses pages with.
    _docker_exec(settings, "wordpress", "www-data",
                 "gzip -6 --no-name --stdout /var/www/html/bench-home.html > /var/www/html/bench-home.html.gz")
    todo_user = f"bench-{os.urandom(6).hex()}"
    todo_session = todo_cookie(settings, todo_user)
    for n in range(20):
        _curl(settings, f"todo.{settings.domain}", "/api/todos", "--header", "Content-Type: application/json",
              "--header", f"Cookie: {todo_session}",
              "--data-binary", json.dumps({"title": f"bench list item {n}"}), "--output", "/dev/null")
    return {"home": home, "admin_cookie": admin_cookie(settings), "todo_user": todo_user,
            "todo_session": todo_session}


def clean_up(settings: Settings, fixtures: dict) -> None:
    _docker_exec(settings, "wordpress", "www-data", "rm -f /var/www/html/bench-1k.html /var/www/html/bench-home.html"
                 " /var/www/html/bench-home.html.gz /var/www/html/bench-static-home.html")
    _docker_exec(settings, "todo", "todo", TODO_CLEANUP.format(user=fixtures["todo_user"]))


def scenarios(domain: str, fixtures: dict) -> list[Scenario]:
    """Every scenario; a scenario comes before its ceiling, and the two are then measured in turns."""
    ceiling_port = {"port": CEILING_PORT}
    todo = {"Cookie": fixtures["todo_session"]}
    return [
        Scenario("static_1k", "1 KB file through the stack's nginx", domain, "/bench-1k.html",
                 ceiling="host_static_1k"),
        Scenario("host_static_1k", "ceiling: host nginx, 1 KB file", domain, "/bench-1k.html", **ceiling_port),
        Scenario("static_1k_h2", "the same over HTTP/2 (h2load)", domain, "/bench-1k.html", tool="h2load",
                 connections=64, ceiling="host_static_1k_h2"),
        Scenario("host_static_1k_h2", "ceiling: host nginx, HTTP/2", domain, "/bench-1k.html", tool="h2load",
                 connections=64, **ceiling_port),
        # Handshakes against the host nginx's own handshake rate, measured in
        # the same turns: what limits both is the same TLS stack on the same cores.
        Scenario("tls_handshakes", "new TLS connection per request", domain, "/bench-1k.html",
                 headers={"Connection": "close"}, connections=16, ceiling="host_tls_handshakes"),
        Scenario("host_tls_handshakes", "ceiling: host nginx, new TLS connection per request", domain,
                 "/bench-1k.html", headers={"Connection": "close"}, connections=16, **ceiling_port),
        Scenario("wp_home_cached", "WordPress home, anonymous (micro-cache)", domain, "/", ceiling="home_as_file"),
        Scenario("home_as_file", "ceiling: the home page's bytes as a file", domain, "/bench-home.html"),
        Scenario("wp_home_cached_gzip", "the same, gzip as browsers ask (micro-cache)", domain, "/",
                 headers={"Accept-Encoding": "gzip"}, ceiling="home_as_file_gzip"),
        Scenario("home_as_file_gzip", "ceiling: the home page's bytes as a file, gzip -6 beforehand", domain,
                 "/bench-home.html",
                 headers={"Accept-Encoding": "gzip"}),
        Scenario("wp_home_uncached", "WordPress home, rendered (object cache only)", domain, "/",
                 headers={"X-Inception-Refresh": "1"}, connections=8, ceiling="home_as_file"),
        Scenario("wp_admin", "WordPress dashboard, logged in", domain, "/wp-admin/",
                 headers={"Cookie": fixtures["admin_cookie"]}, connections=4),
        Scenario("todo_list", "todo API: list (signed in)", f"todo.{domain}", "/api/todos", connections=16,
                 headers=todo),
        Scenario("todo_create", "todo API: create (signed in)", f"todo.{domain}", "/api/todos", connections=8,
                 method="POST", body=json.dumps({"title": "bench created"}), headers=todo),
        # Through the proxy to the static container's nginx, against the same
        # bytes served by the edge nginx as a file: what the hop costs.
        Scenario("static_site", "static site home page", f"static.{domain}", "/", ceiling="static_home_as_file"),
        Scenario("static_home_as_file", "ceiling: the static home page's bytes as a file", domain,
                 "/bench-static-home.html"),
    ]


def measure_all(settings: Settings, plan: list[Scenario], duration: int, repeats: int, say=print) -> dict:
    results = {}
    by_name = {scenario.name: scenario for scenario in plan}
    for scenario in plan:
        if scenario.name in results:
            continue
        group = [scenario]
        if scenario.ceiling in by_name and scenario.ceiling not in results:
            group.append(by_name[scenario.ceiling])
        say(f"{' + '.join(s.name for s in group)}: {scenario.what} ({repeats} x {duration} s"
            f"{', in turns' if len(group) > 1 else ''})")
        results.update(measure_group(settings, group, duration, repeats))
    return results


def attach_ratios(results: dict) -> None:
    """Each scenario's share of its ceiling, and its target where it has one."""
    for row in results.values():
        if row.get("pair_ratios"):
            # Measured in turns: the median of each turn's ratio.
            row["ratio"] = statistics.median(row["pair_ratios"])
        elif row.get("ceiling") and results[row["ceiling"]]["median_rps"] > 0:
            row["ratio"] = row["median_rps"] / results[row["ceiling"]]["median_rps"]
        if "ratio" in row:
            row["target"] = TARGETS.get(row["scenario"], 0)


def run(api, settings: Settings, services: list[str], duration: int, repeats: int, say=print) -> dict:
    missing = missing_tools()
    if missing:
        raise BenchError("missing tools: " + ", ".join(missing))
    say("measuring the idle footprint")
    idle = footprint(api, settings, services)
    fixtures = prepare(settings, say)
    try:
        with HostNginx({"bench-1k.html": ONE_KB, "bench-home.html": fixtures["home"]}, settings.secrets_dir / "tls",
                       settings["DEBIAN_SUITE"]):
            results = measure_all(settings, scenarios(settings.domain, fixtures), duration, repeats, say)
    finally:
        clean_up(settings, fixtures)
    attach_ratios(results)
    report = {"machine": machine(), "duration_s": duration, "repeats": repeats,
              "results": list(results.values()), "footprint": idle}
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    (OUT_DIR / "results.json").write_text(json.dumps(report, indent=2) + "\n")
    (OUT_DIR / "results.md").write_text(markdown_table(report["results"]) + "\n")
    write_svg(report["results"], OUT_DIR / "plot.svg")
    return report


def machine() -> dict:
    cpu = "unknown"
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    docker = compose.docker("version", "--format", "{{.Server.Version}}").stdout.strip()
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gb": round(os.sysconf("SC_PAGE_SIZE")
            * os.sysconf("SC_PHYS_PAGES") / 2**30, 1), "docker": docker,
            "date": time.strftime("%Y-%m-%d", time.gmtime())}


# ---------------------------------------------------------------- swarm

SWARM_OUT = "swarm"


def scale_wordpress(api, stack: str, replicas: int, timeout: float = 300, say=print) -> None:
    from . import deploy

    service = api.services.get(f"{stack}_wordpress")
    deploy.scale_service(service.name, replicas)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if deploy.service_states(api, stack).get("wordpress") == (replicas, replicas):
            # nginx on a swarm keeps a DNS answer 1 s (NGINX_DNS_VALID, swarm.yml).
            time.sleep(3)
            return
        time.sleep(2)
    raise BenchError(f"WordPress did not reach {replicas} running replicas within {timeout:.0f}s "
                     f"(`docker service ps {stack}_wordpress` says why)")


def run_swarm(api, settings: Settings, duration: int, repeats: int, say=print) -> dict:
    """The rendered-page rate (WordPress home, page cache bypassed) through one
    node of a deployed swarm, with 1 and then 2 WordPress replicas; the
    service's replica count is put back at the end."""
    from . import deploy

    if not shutil.which("wrk"):
        raise BenchError("missing tools: wrk (apt-get install wrk)")
    swarm = deploy.require_manager(api)
    stack = settings.project
    try:
        service = api.services.get(f"{stack}_wordpress")
    except Exception as exc:  # docker.errors.NotFound, without importing docker here
        raise BenchError(f"no stack {stack} on this swarm: run `invoke deploy` first ({exc})") from None
    mode = service.attrs["Spec"]["Mode"]
    if "Replicated" not in mode:
        raise BenchError("WordPress runs one task per node (deployed with --files local): deploy with shared "
                         "files (--files nfs or a shared folder) to measure it with 1 and 2 replicas")
    original = mode["Replicated"]["Replicas"]
    if original < 2:
        say(f"note: WordPress runs {original} replica now (an interrupted bench?); it is put back to "
            f"{original} at the end: `invoke deploy` restores the stack's own count")
    entry = swarm["NodeAddr"]
    url = f"https://{entry}:{settings['HTTPS_PORT']}/"
    scenario = Scenario("wp_home_uncached", "WordPress home, rendered (object cache only)", settings.domain, "/",
                        headers={"X-Inception-Refresh": "1"}, connections=8)
    results = []
    try:
        for replicas in (1, 2):
            say(f"WordPress with {replicas} replica{'s' * (replicas > 1)}: {repeats} x {duration} s through {url}")
            scale_wordpress(api, stack, replicas, say=say)
            run_wrk(url, scenario, 2)  # warm PHP's opcache and the object cache on each replica
            row = summarise(scenario, [run_wrk(url, scenario, duration) for _ in range(repeats)])
            row["replicas"] = replicas
            results.append(row)
    except BaseException:
        # The measurement's error is the one to see; the replicas still go back.
        try:
            scale_wordpress(api, stack, original, say=say)
        except Exception as exc:
            say(f"also, putting WordPress back to {original} replicas failed: {exc}")
        raise
    say(f"putting WordPress back to {original} replicas")
    scale_wordpress(api, stack, original, say=say)
    nodes = len(api.nodes.list())
    report = {"machine": machine(), "entry": entry, "nodes": nodes, "duration_s": duration, "repeats": repeats,
              "results": results}
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    (OUT_DIR / f"{SWARM_OUT}.json").write_text(json.dumps(report, indent=2) + "\n")
    (OUT_DIR / f"{SWARM_OUT}.md").write_text(swarm_table(results) + "\n")
    return report


def swarm_table(results: list[dict]) -> str:
    lines = ["| WordPress replicas | rendered pages/s (median) | min-max | p50 ms | p99 ms | failed |",
             "|---|---|---|---|---|---|"]
    for row in results:
        p50 = f"{row['p50_ms']:.0f}" if row["p50_ms"] is not None else "-"
        p99 = f"{row['p99_ms']:.0f}" if row["p99_ms"] is not None else "-"
        lines.append(f"| {row['replicas']} | {row['median_rps']:.1f} | {row['min_rps']:.1f}-{row['max_rps']:.1f} "
                     f"| {p50} | {p99} | {row['non_2xx'] + row.get('socket_errors', 0)} |")
    return "\n".join(lines)
