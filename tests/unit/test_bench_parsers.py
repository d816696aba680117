"""The load tools' reports as `invoke bench` reads them, and the port
description `invoke status` prints."""

import pytest

from inception import bench, stack

WRK = """Running 10s test @ https://127.0.0.1:443/bench-1k.html
  2 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.21ms  512.33us  20.01ms   80.12%
    Req/Sec    26.71k     1.20k   29.80k    71.00%
  Latency Distribution
     50%    1.10ms
     75%    1.43ms
     90%    1.80ms
     99%  850.00us
  531526 requests in 10.00s, 1.20GB read
  Non-2xx or 3xx responses: 26576
Requests/sec:  53152.60
Transfer/sec:    122.97MB
"""

H2LOAD = """starting benchmark...
finished in 7.66s, 65969.12 req/s, 80.27MB/s
requests: 576000 total, 576000 started, 576000 done, 547200 succeeded, 28800 failed, 0 errored, 0 timeout
status codes: 547200 2xx, 0 3xx, 28800 4xx, 0 5xx
"""


def test_wrk_counts_only_successful_answers_and_reads_percentiles():
    row = bench.parse_wrk(WRK, "static_1k")
    assert row["non_2xx"] == 26576
    assert row["rps"] == pytest.approx(53152.60 * (1 - 26576 / 531526))
    assert row["p50_ms"] == pytest.approx(1.10) and row["p99_ms"] == pytest.approx(0.85)


def test_wrk_counts_requests_that_got_no_answer():
    out = WRK.replace("  Non-2xx or 3xx responses: 26576\n",
                      "  Socket errors: connect 2, read 1, write 0, timeout 7\n")
    row = bench.parse_wrk(out, "wp_home_uncached")
    assert row["socket_errors"] == 10 and row["non_2xx"] == 0
    assert "| 10 |" in bench.swarm_table([{**bench.summarise(bench.Scenario("s", "", "h", "/"), [row]),
                                           "replicas": 1}])


def test_h2load_counts_only_successful_requests():
    row = bench.parse_h2load(H2LOAD, "static_1k_h2")
    assert row["non_2xx"] == 28800
    assert row["rps"] == pytest.approx(65969.12 * 547200 / 576000)


@pytest.mark.parametrize("parse", [bench.parse_wrk, bench.parse_h2load])
def test_a_report_without_a_rate_is_an_error_naming_the_scenario(parse):
    with pytest.raises(bench.BenchError, match="no rate for broken"):
        parse("connection refused\n", "broken")


class FakeContainer:
    def __init__(self, ports):
        self.attrs = {"NetworkSettings": {"Ports": ports}}


def test_port_ranges_are_described_as_ranges():
    ports = {"21/tcp": [{"HostIp": "0.0.0.0", "HostPort": "21"}]}
    ports.update({f"{p}/tcp": [{"HostIp": "0.0.0.0", "HostPort": str(p)}] for p in range(21100, 21111)})
    ports["443/udp"] = [{"HostIp": "127.0.0.1", "HostPort": "8443"}]
    ports["9000/tcp"] = None
    assert stack.describe_ports(FakeContainer(ports)) == (
        "0.0.0.0:21->21/tcp, 0.0.0.0:21100-21110->21100-21110/tcp, 127.0.0.1:8443->443/udp")
