"""The benchmark: ``bench/run`` (see ``bench/README.md`` and ``docs/benchmark.md``).

Starts gunicorn servers on 127.0.0.1, drives them with keep-alive clients in separate
processes, prints a table, writes ``docs/benchmark.json``, the plots ``docs/bench_*.png`` and
the figures section of ``docs/benchmark.md``; stops every server it started, also on errors.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench.load import Job, run_many

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
SIZES = (1, 10, 100, 1000)
CONCURRENCY = (1, 8, 32)
INGEST_CLIENTS = 4
PORT_APP, PORT_FLOOR, PORT_MEM_APP, PORT_MEM_FLOOR = 8701, 8702, 8703, 8704
IMPLS = {  # name -> (server, path, authenticated)
    "ours": ("app", "/api/v1/livechat/messages", True),
    "naive DRF": ("app", "/bench/naive/messages", True),
    "floor": ("floor", "/", False),
    "no-op view": ("app", "/bench/noop", True),
}
INGEST_IMPLS = ("ours", "naive DRF", "floor")
LATENCY_IMPLS = ("ours", "no-op view", "naive DRF", "floor")


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------------------
# Databases, Django commands, servers
# ------------------------------------------------------------------------------------------
def prepare_database(kind: str, pg_url: str, workdir: Path) -> str:
    """A fresh, empty database; returns its ``BENCH_DB`` URL."""
    if kind == "sqlite":
        path = workdir / "bench.sqlite3"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return f"sqlite:///{path}"
    import psycopg

    parts = urllib.parse.urlparse(pg_url)
    name = parts.path.lstrip("/")
    admin_url = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return pg_url


def django(db_url: str, *args: str) -> str:
    env = {**os.environ, "BENCH_DB": db_url, "DJANGO_SETTINGS_MODULE": "bench.settings"}
    result = subprocess.run(  # noqa: S603
        [PY, "-m", "django", *args], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(f"django {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


class Server:
    """A gunicorn master on 127.0.0.1:<port>; ``stop()`` ends it and its workers."""

    def __init__(self, app: str, port: int, db_url: str, workers: int, threads: int, logdir: Path):
        self.port = port
        worker_class = (
            ["--worker-class", "gthread", "--threads", str(threads)] if threads > 1 else []
        )
        self.log = open(logdir / f"gunicorn-{port}.log", "ab")  # noqa: SIM115
        self.proc = subprocess.Popen(  # noqa: S603
            [
                PY,
                "-m",
                "gunicorn",
                app,
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                str(workers),
                *worker_class,
                "--keep-alive",
                "30",
                "--timeout",
                "300",
                "--log-level",
                "warning",
                "--backlog",
                "256",
            ],
            cwd=ROOT,
            env={**os.environ, "BENCH_DB": db_url, "DJANGO_SETTINGS_MODULE": "bench.settings"},
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self.wait_ready()

    def wait_ready(self) -> None:
        import http.client

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn on port {self.port} exited; see its log")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                conn.request("GET", "/api/info")
                conn.getresponse().read()
                conn.close()
                return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"gunicorn on port {self.port} did not start")

    def workers(self) -> list[int]:
        path = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
        return [int(pid) for pid in path.read_text().split()]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


@contextmanager
def servers(*specs: tuple[str, int, str, int, int], logdir: Path) -> Any:
    started: list[Server] = []
    try:
        for app, port, db_url, workers, threads in specs:
            started.append(Server(app, port, db_url, workers, threads, logdir))
        yield started
    finally:
        for server in started:
            server.stop()


# ------------------------------------------------------------------------------------------
# Requests
# ------------------------------------------------------------------------------------------
def body(token: str, count: int) -> bytes:
    messages = [
        {"msg": f"Message {i} from the benchmark: some ordinary text."} for i in range(count)
    ]
    return json.dumps({"visitor": {"token": token}, "messages": messages}).encode()


def headers(creds: dict[str, str], authenticated: bool) -> dict[str, str]:
    h = {"Content-Type": "application/json", "Connection": "keep-alive"}
    if authenticated:
        h.update({"X-Auth-Token": creds["token"], "X-User-Id": creds["user_id"]})
    return h


def port_of(impl: str, memory: bool = False) -> int:
    server = IMPLS[impl][0]
    if memory:
        return PORT_MEM_APP if server == "app" else PORT_MEM_FLOOR
    return PORT_APP if server == "app" else PORT_FLOOR


def one_request(
    port: int,
    path: str,
    hdrs: dict[str, str],
    data: bytes | None,
    method: str = "POST",
    cookies: str = "",
) -> tuple[int, bytes, float]:
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    h = dict(hdrs)
    if cookies:
        h["Cookie"] = cookies
    started = time.perf_counter()
    conn.request(method, path, body=data, headers=h)
    response = conn.getresponse()
    content = response.read()
    elapsed = time.perf_counter() - started
    conn.close()
    return response.status, content, elapsed


def jobs_for(
    impl: str,
    creds: dict[str, str],
    tokens: list[str],
    count: int,
    duration: float,
    min_requests: int = 1,
) -> list[Job]:
    _server, path, authenticated = IMPLS[impl]
    start_at = time.time() + 0.5
    return [
        Job(
            port=port_of(impl),
            path=path,
            headers=headers(creds, authenticated),
            body=body(token, count),
            messages=count,
            start_at=start_at,
            duration=duration,
            min_requests=min_requests,
        )
        for token in tokens
    ]


def statuses(outcomes: list[Any]) -> dict[str, int]:
    total: dict[str, int] = {}
    for outcome in outcomes:
        for key, value in outcome.statuses.items():
            total[key] = total.get(key, 0) + value
    return total


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


# ------------------------------------------------------------------------------------------
# Scenarios
# ------------------------------------------------------------------------------------------
def measure(
    impls: tuple[str, ...], make_jobs: Any, pool: Any, rounds: int
) -> dict[str, tuple[list[Any], float]]:
    """Run each implementation's jobs ``rounds`` times, interleaved (a, b, c, a, b, c, ...), so
    that a burst of load from elsewhere on the machine spreads over all of them."""
    outcomes: dict[str, list[Any]] = {impl: [] for impl in impls}
    wall: dict[str, float] = dict.fromkeys(impls, 0.0)
    for _round in range(rounds):
        for impl in impls:
            got, seconds = run_many(make_jobs(impl), pool)
            outcomes[impl] += got
            wall[impl] += seconds
    return {impl: (outcomes[impl], wall[impl]) for impl in impls}


def ingest(creds: dict[str, str], pool: Any, duration: float, rounds: int) -> list[dict[str, Any]]:
    rows = []
    all_tokens = [f"bench-ingest-{i}" for i in range(INGEST_CLIENTS)]
    # Every size with INGEST_CLIENTS clients; then 1000 with one client (no lock contention).
    for size, tokens in [(size, all_tokens) for size in SIZES] + [(1000, all_tokens[:1])]:
        results = measure(
            INGEST_IMPLS,
            lambda impl, size=size, tokens=tokens: jobs_for(
                impl, creds, tokens, size, duration / rounds
            ),
            pool,
            rounds,
        )
        for impl, (outcomes, wall) in results.items():
            msgs = sum(o.messages for o in outcomes)
            latencies = [x for o in outcomes for x in o.latencies]
            row = {
                "size": size,
                "clients": len(tokens),
                "impl": impl,
                "messages": msgs,
                "seconds": round(wall, 3),
                "msgs_per_s": round(msgs / wall, 1),
                "requests": len(latencies),
                "p50_ms": round(percentile(latencies, 0.5) * 1000, 2),
                "statuses": statuses(outcomes),
            }
            rate = row["msgs_per_s"]
            log(
                f"  ingest {size:>4} x {impl:<10} {len(tokens)} clients "
                f"{rate:>10.0f} msg/s  {row['statuses']}"
            )
            rows.append(row)
    return rows


def latency(creds: dict[str, str], pool: Any, duration: float, rounds: int) -> list[dict[str, Any]]:
    rows = []
    for clients in CONCURRENCY:
        tokens = [f"bench-latency-{i}" for i in range(clients)]
        results = measure(
            LATENCY_IMPLS,
            lambda impl, tokens=tokens: jobs_for(
                impl, creds, tokens, 1, duration / rounds, min_requests=3
            ),
            pool,
            rounds,
        )
        for impl, (outcomes, wall) in results.items():
            latencies = [x for o in outcomes for x in o.latencies]
            row = {
                "clients": clients,
                "impl": impl,
                "requests": len(latencies),
                "p50_ms": round(percentile(latencies, 0.5) * 1000, 2),
                "p99_ms": round(percentile(latencies, 0.99) * 1000, 2),
                "req_per_s": round(len(latencies) / wall, 1),
                "statuses": statuses(outcomes),
            }
            log(
                f"  latency {clients:>2} clients {impl:<10} p50 {row['p50_ms']:>7.2f} ms "
                f"p99 {row['p99_ms']:>7.2f} ms  {row['statuses']}"
            )
            rows.append(row)
    return rows


def read_status(pid: int) -> dict[str, int]:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _sep, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0])  # kB
    return fields


def memory(creds: dict[str, str], db_url: str, logdir: Path) -> list[dict[str, Any]]:
    """Peak RSS of a fresh single sync worker serving one 1000-message request."""
    rows = []
    for impl in INGEST_IMPLS:
        app = "bench.wsgi:application" if IMPLS[impl][0] == "app" else "bench.floor:app"
        port = port_of(impl, memory=True)
        with servers((app, port, db_url, 1, 1), logdir=logdir) as (server,):
            (pid,) = server.workers()
            _s, path, authenticated = IMPLS[impl]
            h = headers(creds, authenticated)
            for _ in range(3):  # imports, connections, first queries
                one_request(port, path, h, body("bench-memory", 1))
            before = read_status(pid)["VmRSS"]
            Path(f"/proc/{pid}/clear_refs").write_text("5")  # reset the peak (VmHWM)
            status, _content, elapsed = one_request(port, path, h, body("bench-memory", 1000))
            peak = read_status(pid)["VmHWM"]
        row = {
            "impl": impl,
            "status": status,
            "rss_before_mb": round(before / 1024, 1),
            "peak_mb": round(peak / 1024, 1),
            "growth_mb": round((peak - before) / 1024, 1),
            "request_ms": round(elapsed * 1000, 1),
        }
        log(f"  memory {impl:<10} {row}")
        rows.append(row)
    return rows


def admin_login(port: int) -> str:
    """Log in to the admin as the bench superuser; return the Cookie header."""
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", port)
    conn.request("GET", "/admin/login/")
    response = conn.getresponse()
    page = response.read()
    csrf_cookie = re.search(r"csrftoken=([^;]+)", response.getheader("Set-Cookie", "")).group(1)
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1).decode()
    form = urllib.parse.urlencode(
        {
            "username": "bench-admin",
            "password": "bench-admin-password",
            "csrfmiddlewaretoken": token,
            "next": "/admin/",
        }
    )
    conn.request(
        "POST",
        "/admin/login/",
        body=form,
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": f"csrftoken={csrf_cookie}",
        },
    )
    response = conn.getresponse()
    response.read()
    session = re.search(r"sessionid=([^;]+)", response.getheader("Set-Cookie", "") or "")
    conn.close()
    if session is None:
        raise RuntimeError("admin login failed")
    return f"csrftoken={csrf_cookie}; sessionid={session.group(1)}"


def timed_get(port: int, path: str, cookies: str, repeat: int = 15) -> tuple[int, float, float]:
    """Status, median and minimum time in ms of ``repeat`` GETs after one warm-up."""
    times, status = [], 0
    for _ in range(repeat + 1):
        status, _content, elapsed = one_request(port, path, {}, None, method="GET", cookies=cookies)
        times.append(elapsed)
        time.sleep(0.02)
    return status, statistics.median(times[1:]) * 1000, min(times[1:]) * 1000


def growth(creds: dict[str, str], db_url: str, targets: list[int]) -> list[dict[str, Any]]:
    rows = []
    cookies = admin_login(PORT_APP)
    h = headers(creds, True)
    for i in range(5):  # warm-up: imports, connections, caches of every worker and thread
        one_request(PORT_APP, IMPLS["ours"][1], h, body(f"bench-growth-warm-{i}", 100))
        one_request(PORT_APP, "/admin/django_livechat/room/", {}, None, "GET", cookies)
    for target in targets:
        loaded = json.loads(django(db_url, "bench_load", "--target", str(target)))
        per_message = []
        for i in range(20):
            status, _c, elapsed = one_request(
                PORT_APP, IMPLS["ours"][1], h, body(f"bench-growth-{target}-{i % 3}", 100)
            )
            if status == 200:
                per_message.append(elapsed / 100)
        single = []
        for i in range(30):
            status, _c, elapsed = one_request(
                PORT_APP, IMPLS["ours"][1], h, body(f"bench-g1-{i % 3}", 1)
            )
            if status == 200:
                single.append(elapsed)
        big = loaded["big_room"]
        changelist = timed_get(PORT_APP, "/admin/django_livechat/room/", cookies)
        transcript_url, transcript = "", (404, 0.0, 0.0)
        for candidate in (
            f"/admin/django_livechat/room/{big}/transcript/",
            f"/admin/django_livechat/room/{big}/change/",
        ):
            result = timed_get(PORT_APP, candidate, cookies)
            if result[0] == 200:
                transcript_url, transcript = candidate, result
                break
        row = {
            "messages": loaded["messages"],
            "rooms": loaded["rooms"],
            "load_seconds": loaded["load_seconds"],
            "us_per_message_batch100": round(statistics.median(per_message) * 1e6, 1),
            "single_post_ms": round(statistics.median(single) * 1000, 2),
            "changelist_status": changelist[0],
            "changelist_ms": round(changelist[1], 1),
            "changelist_min_ms": round(changelist[2], 1),
            "transcript_url": transcript_url.replace(str(big), "<pk>"),
            "transcript_status": transcript[0],
            "transcript_ms": round(transcript[1], 1),
            "transcript_min_ms": round(transcript[2], 1),
        }
        log(f"  growth {row}")
        rows.append(row)
    return rows


# ------------------------------------------------------------------------------------------
# Reporting
# ------------------------------------------------------------------------------------------
def machine() -> dict[str, Any]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    mem_kb = int(
        next(
            line.split()[1]
            for line in Path("/proc/meminfo").read_text().splitlines()
            if line.startswith("MemTotal")
        )
    )
    import django as dj
    import psycopg

    pg_version = ""
    try:
        url = urllib.parse.urlparse(os.environ.get("BENCH_PG_URL", ""))
        admin_url = url._replace(path="/postgres").geturl()  # the bench database may not exist yet
        with psycopg.connect(admin_url, connect_timeout=3) as conn:
            pg_version = conn.execute("SHOW server_version").fetchone()[0]
    except Exception:  # noqa: BLE001 - only a label
        pg_version = "unknown"
    import sqlite3

    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "ram_gb": round(mem_kb / 1024 / 1024, 1),
        "python": platform.python_version(),
        "django": dj.get_version(),
        "postgresql": pg_version,
        "sqlite": sqlite3.sqlite_version,
        "kernel": platform.release(),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }


def ingest_rates(r: dict[str, Any], size: int, clients: int) -> dict[str, float]:
    return {
        row["impl"]: row["msgs_per_s"]
        for row in r["ingest"]
        if row["size"] == size and row.get("clients", INGEST_CLIENTS) == clients
    }


def targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    checks = []
    for db, r in results["databases"].items():
        for clients in (INGEST_CLIENTS, 1):
            rate = ingest_rates(r, 1000, clients)
            if not rate:
                continue
            x_naive = rate["ours"] / max(rate["naive DRF"], 1e-9)
            x_floor = rate["floor"] / max(rate["ours"], 1e-9)
            checks.append(
                {
                    "db": db,
                    "target": f"1000-message batch, {clients} client(s): >= 10x the naive DRF view",
                    "value": f"{x_naive:.1f}x",
                    "met": x_naive >= 10,
                }
            )
            checks.append(
                {
                    "db": db,
                    "target": f"1000-message batch, {clients} client(s): within 3x of the floor",
                    "value": f"floor is {x_floor:.2f}x ours",
                    "met": x_floor <= 3,
                }
            )
        for clients in CONCURRENCY:
            p50 = {row["impl"]: row["p50_ms"] for row in r["latency"] if row["clients"] == clients}
            if p50:
                ratio = p50["ours"] / max(p50["no-op view"], 1e-9)
                checks.append(
                    {
                        "db": db,
                        "target": f"p50 with {clients} clients: within 2x of the no-op view",
                        "value": f"{ratio:.2f}x",
                        "met": ratio <= 2,
                    }
                )
        if len(r["growth"]) >= 2:
            costs = [row["us_per_message_batch100"] for row in r["growth"]]
            spread = max(costs) / min(costs)
            checks.append(
                {
                    "db": db,
                    "target": "flat cost per message as the table grows (max/min <= 1.5)",
                    "value": f"{spread:.2f}",
                    "met": spread <= 1.5,
                }
            )
        last = r["growth"][-1] if r["growth"] else None
        if db == "postgresql" and last and last["messages"] >= 1_000_000:
            for page in ("changelist", "transcript"):
                ok = last[f"{page}_status"] == 200 and last[f"{page}_ms"] < 100
                checks.append(
                    {
                        "db": db,
                        "target": f"admin {page} < 100 ms at 1M messages",
                        "value": f"{last[f'{page}_ms']} ms (HTTP {last[f'{page}_status']})",
                        "met": ok,
                    }
                )
    return checks


def markdown(results: dict[str, Any]) -> str:
    m = results["machine"]
    out = [
        f"Run of {m['date']} on {m['nproc']} CPUs ({m['cpu']}), {m['ram_gb']} GB RAM; Python "
        f"{m['python']}, Django {m['django']}, PostgreSQL {m['postgresql']}, SQLite {m['sqlite']}, "
        f"Linux {m['kernel']}. Command: `{results['command']}`.",
        "",
    ]
    out += ["### Targets", "", "| database | target | measured | met |", "|---|---|---|---|"]
    out += [
        f"| {c['db']} | {c['target']} | {c['value']} | {'yes' if c['met'] else '**no**'} |"
        for c in results["targets"]
    ]
    for db, r in results["databases"].items():
        out += [
            "",
            f"### {db}",
            "",
            f"Batch ingest (messages per second, {INGEST_CLIENTS} concurrent keep-alive clients):",
            "",
            "| messages per request | "
            + " | ".join(INGEST_IMPLS)
            + " | ours / naive | floor / ours |",
            "|---:|" + "---:|" * (len(INGEST_IMPLS) + 2),
        ]
        for size, clients in [(size, INGEST_CLIENTS) for size in SIZES] + [(1000, 1)]:
            rate = ingest_rates(r, size, clients)
            if rate:
                label = f"{size}" if clients == INGEST_CLIENTS else f"{size}, one client"
                out.append(
                    f"| {label} | "
                    + " | ".join(f"{rate[i]:,.0f}" for i in INGEST_IMPLS)
                    + f" | {rate['ours'] / rate['naive DRF']:.1f}x"
                    + f" | {rate['floor'] / rate['ours']:.2f}x |"
                )
        out += [
            "",
            "Latency of single-message posts (ms):",
            "",
            "| clients | " + " | ".join(f"{i} p50 | {i} p99" for i in LATENCY_IMPLS) + " |",
            "|---:|" + "---:|" * (2 * len(LATENCY_IMPLS)),
        ]
        for clients in CONCURRENCY:
            rows = {row["impl"]: row for row in r["latency"] if row["clients"] == clients}
            if rows:
                out.append(
                    f"| {clients} | "
                    + " | ".join(
                        f"{rows[i]['p50_ms']:.2f} | {rows[i]['p99_ms']:.2f}" for i in LATENCY_IMPLS
                    )
                    + " |"
                )
        if r["memory"]:
            out += [
                "",
                "Server memory for one 1000-message request (fresh single worker):",
                "",
                "| implementation | RSS before (MB) | peak RSS (MB) | growth (MB) | request (ms) |",
                "|---|---:|---:|---:|---:|",
            ]
            out += [
                f"| {row['impl']} | {row['rss_before_mb']} | {row['peak_mb']} | {row['growth_mb']} "
                f"| {row['request_ms']} |"
                for row in r["memory"]
            ]
        if r["growth"]:
            out += [
                "",
                "Growth (our endpoint and the admin as the messages table grows; admin pages: "
                "median (minimum) of 15 loads, transcript URL "
                + (r["growth"][0]["transcript_url"] or "not found")
                + "):",
                "",
                "| messages | rooms | µs per message (100/request) | single post (ms) "
                "| admin changelist (ms) | transcript page (ms) |",
                "|---:|---:|---:|---:|---:|---:|",
            ]
            for row in r["growth"]:
                cl = (
                    f"{row['changelist_ms']} ({row.get('changelist_min_ms')})"
                    if row["changelist_status"] == 200
                    else f"HTTP {row['changelist_status']}"
                )
                tr = (
                    f"{row['transcript_ms']} ({row.get('transcript_min_ms')})"
                    if row["transcript_status"] == 200
                    else f"HTTP {row['transcript_status']}"
                )
                out.append(
                    f"| {row['messages']:,} | {row['rooms']:,} | {row['us_per_message_batch100']} "
                    f"| {row['single_post_ms']} | {cl} | {tr} |"
                )
        errors = {}
        for section in ("ingest", "latency"):
            for row in r[section]:
                for key, value in row["statuses"].items():
                    if key != "200":
                        errors[key] = errors.get(key, 0) + value
        out += ["", f"Non-200 answers during the run: {errors or 'none'}."]
    out += [
        "",
        "![batch ingest](bench_ingest.png)",
        "",
        "![latency](bench_latency.png)",
        "",
        "![growth](bench_growth.png)",
    ]
    return "\n".join(out)


def plots(results: dict[str, Any], outdir: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    dbs = [db for db, r in results["databases"].items() if r["ingest"]]
    if dbs:
        plot_ingest(results, dbs, outdir, plt)
    dbs = [db for db, r in results["databases"].items() if r["latency"]]
    if dbs:
        plot_latency(results, dbs, outdir, plt)
    if any(r["growth"] for r in results["databases"].values()):
        plot_growth(results, list(results["databases"]), outdir, plt)


def plot_ingest(results: dict[str, Any], dbs: list[str], outdir: Path, plt: Any) -> None:
    fig, axes = plt.subplots(1, len(dbs), figsize=(6 * len(dbs), 4.2), squeeze=False)
    for ax, db in zip(axes[0], dbs, strict=True):
        for impl in INGEST_IMPLS:
            rows = [
                row
                for row in results["databases"][db]["ingest"]
                if row["impl"] == impl and row.get("clients", INGEST_CLIENTS) == INGEST_CLIENTS
            ]
            ax.plot(
                [r["size"] for r in rows], [r["msgs_per_s"] for r in rows], marker="o", label=impl
            )
        ax.set(
            xscale="log",
            yscale="log",
            title=f"Batch ingest, {db}",
            xlabel="messages per request",
            ylabel="messages per second",
        )
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(outdir / "bench_ingest.png", dpi=110)
    plt.close(fig)


def plot_latency(results: dict[str, Any], dbs: list[str], outdir: Path, plt: Any) -> None:
    fig, axes = plt.subplots(1, len(dbs), figsize=(6 * len(dbs), 4.2), squeeze=False)
    width = 0.2
    for ax, db in zip(axes[0], dbs, strict=True):
        for k, impl in enumerate(LATENCY_IMPLS):
            rows = [row for row in results["databases"][db]["latency"] if row["impl"] == impl]
            xs = [i + (k - 1.5) * width for i in range(len(rows))]
            ax.bar(xs, [r["p50_ms"] for r in rows], width, label=f"{impl} p50")
            ax.scatter(xs, [r["p99_ms"] for r in rows], marker="_", s=200, color="black")
        ax.set_xticks(range(len(CONCURRENCY)), [f"{c} clients" for c in CONCURRENCY])
        ax.set(yscale="log", title=f"Single-message latency, {db} (bar p50, dash p99)", ylabel="ms")
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(outdir / "bench_latency.png", dpi=110)
    plt.close(fig)


def plot_growth(results: dict[str, Any], dbs: list[str], outdir: Path, plt: Any) -> None:
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.2))
    for db in dbs:
        rows = results["databases"][db]["growth"]
        if not rows:
            continue
        xs = [r["messages"] for r in rows]
        axes[0].plot(xs, [r["us_per_message_batch100"] for r in rows], marker="o", label=db)
        for page, style in (("changelist", "-"), ("transcript", "--")):
            ok = [
                (x, r[f"{page}_ms"])
                for x, r in zip(xs, rows, strict=True)
                if r[f"{page}_status"] == 200
            ]
            if ok:
                axes[1].plot(*zip(*ok, strict=True), style, marker="o", label=f"{page}, {db}")
    axes[0].set(
        xscale="log",
        title="Cost per message (100-message requests)",
        xlabel="rows in messages table",
        ylabel="µs per message",
    )
    axes[1].axhline(100, color="red", lw=0.8, label="100 ms target")
    axes[1].set(xscale="log", title="Admin pages", xlabel="rows in messages table", ylabel="ms")
    for ax in axes:
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    axes[0].set_ylim(bottom=0)
    axes[1].set_ylim(bottom=0)
    fig.tight_layout()
    fig.savefig(outdir / "bench_growth.png", dpi=110)
    plt.close(fig)


def write_doc(results: dict[str, Any], doc: Path) -> None:
    start, end = "<!-- results:start -->", "<!-- results:end -->"
    text = doc.read_text() if doc.exists() else f"# Benchmark\n\n{start}\n{end}\n"
    if start not in text:
        text += f"\n{start}\n{end}\n"
    head, _old, tail = text.partition(start)
    _old, _e, tail = tail.partition(end)
    doc.write_text(f"{head}{start}\n{markdown(results)}\n{end}{tail}")


def print_table(results: dict[str, Any]) -> None:
    print()
    print(markdown(results))
    print()


def fresh_database(db: str, pg_url: str, workdir: Path) -> tuple[str, dict[str, str]]:
    db_url = prepare_database(db, pg_url, workdir)
    django(db_url, "migrate", "--no-input", "-v", "0")
    return db_url, json.loads(django(db_url, "bench_setup"))


@contextmanager
def app_servers(db_url: str, creds: dict[str, str], workdir: Path) -> Any:
    """The Django server and the floor server, with every benchmark visitor's room open."""
    workers = os.cpu_count() or 2
    with servers(
        ("bench.wsgi:application", PORT_APP, db_url, workers, 4),
        ("bench.floor:app", PORT_FLOOR, db_url, workers, 4),
        logdir=workdir,
    ):
        h = headers(creds, True)
        tokens = (
            [f"bench-ingest-{i}" for i in range(INGEST_CLIENTS)]
            + [f"bench-latency-{i}" for i in range(max(CONCURRENCY))]
            + ["bench-memory"]
        )
        for token in tokens:  # visitors and open rooms exist before any timing
            status, content, _t = one_request(PORT_APP, IMPLS["ours"][1], h, body(token, 1))
            if status != 200:
                raise RuntimeError(f"warm-up request failed: {status} {content[:200]!r}")
        yield


# ------------------------------------------------------------------------------------------
def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--databases",
        default="sqlite,postgresql",
        help="comma-separated: sqlite, postgresql (default both)",
    )
    parser.add_argument(
        "--growth",
        default="10000,100000",
        help="messages-table sizes for the growth test (default 10000,100000)",
    )
    parser.add_argument("--million", action="store_true", help="add the 1,000,000-row growth step")
    parser.add_argument(
        "--duration", type=float, default=6.0, help="seconds of load per measured point"
    )
    parser.add_argument(
        "--rounds", type=int, default=3, help="rounds per point, the implementations interleaved"
    )
    parser.add_argument(
        "--skip",
        default="",
        help="comma-separated sections to skip: ingest, latency, memory, growth",
    )
    parser.add_argument("--out", default=str(ROOT / "docs"), help="where the plots and docs go")
    parser.add_argument("--no-doc", action="store_true", help="do not rewrite docs/benchmark.md")
    args = parser.parse_args()
    pg_url = os.environ.get(
        "BENCH_PG_URL", "postgres://livechat:livechat@127.0.0.1:5432/livechat_bench"
    )
    os.environ["BENCH_PG_URL"] = pg_url
    growth_targets = [int(x) for x in args.growth.split(",") if x]
    if args.million and 1_000_000 not in growth_targets:
        growth_targets.append(1_000_000)
    skip = set(filter(None, args.skip.split(",")))
    outdir = Path(args.out)
    outdir.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="livechat-bench-"))
    results: dict[str, Any] = {
        "machine": machine(),
        "command": "bench/run " + " ".join(sys.argv[1:]),
        "databases": {},
    }
    log(f"machine: {results['machine']}")
    ctx = multiprocessing.get_context("spawn")
    ok = False
    try:
        with ctx.Pool(max(CONCURRENCY)) as pool:
            for db in args.databases.split(","):
                log(f"== {db}")
                r: dict[str, Any] = {"ingest": [], "latency": [], "memory": [], "growth": []}
                results["databases"][db] = r
                if not {"ingest", "latency", "memory"} <= skip:
                    db_url, creds = fresh_database(db, pg_url, workdir)
                    with app_servers(db_url, creds, workdir):
                        if "ingest" not in skip:
                            r["ingest"] = ingest(creds, pool, args.duration, args.rounds)
                        if "latency" not in skip:
                            r["latency"] = latency(creds, pool, args.duration, args.rounds)
                    if "memory" not in skip:
                        r["memory"] = memory(creds, db_url, workdir)
                if "growth" not in skip:
                    # A fresh database, so that the table holds exactly the sizes measured.
                    db_url, creds = fresh_database(db, pg_url, workdir)
                    with app_servers(db_url, creds, workdir):
                        r["growth"] = growth(creds, db_url, growth_targets)
        ok = True
    finally:
        if not ok:
            for path in sorted(workdir.glob("gunicorn-*.log")):
                log(
                    f"--- {path.name} (last lines)\n"
                    + "\n".join(path.read_text().splitlines()[-15:])
                )
        shutil.rmtree(workdir, ignore_errors=True)
    results["targets"] = targets(results)
    (outdir / "benchmark.json").write_text(json.dumps(results, indent=1))
    plots(results, outdir)
    if not args.no_doc:
        write_doc(results, outdir / "benchmark.md")
    print_table(results)
    missed = [c for c in results["targets"] if not c["met"]]
    if missed:
        log(
            f"{len(missed)} target(s) missed: "
            + "; ".join(f"{c['db']}: {c['target']}" for c in missed)
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
