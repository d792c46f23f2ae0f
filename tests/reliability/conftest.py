"""The reliability suite's server: gunicorn on 127.0.0.1, on the test's PostgreSQL database."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from django_livechat.models import AuthToken
from tests.factories import AgentFactory

ROOT = Path(__file__).resolve().parents[2]
# Figures the tests report; printed at the end of the run (pytest's terminal summary).
FIGURES: list[str] = []


def report(line: str) -> None:
    FIGURES.append(line)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if FIGURES:
        terminalreporter.section("reliability figures")
        for line in FIGURES:
            terminalreporter.write_line(line)


def requires_postgres() -> None:
    if connection.vendor != "postgresql":
        # Marked ``postgres``: deselected on other databases, so reaching this is a mistake.
        pytest.fail("needs PostgreSQL: set DATABASE_URL=postgres://... (see docs/reliability.md)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def database_url() -> str:
    s = connection.settings_dict
    return (
        f"postgres://{s['USER']}:{s['PASSWORD']}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}"
        f"/{s['NAME']}"
    )


@dataclass
class Reply:
    status: int
    body: bytes
    headers: dict[str, str]

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class LiveServer:
    port: int
    process: subprocess.Popen[bytes]
    log: Path
    headers: dict[str, str]

    def worker_pids(self) -> list[int]:
        path = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in path.read_text().split()]

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
        timeout: float = 60,
    ) -> Reply:
        """One request on a new connection; raises OSError/HTTPException if there is no reply."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
            conn.request(method, path, body=data, headers={**self.headers, **(headers or {})})
            response = conn.getresponse()
            return Reply(response.status, response.read(), dict(response.getheaders()))
        finally:
            conn.close()

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


@contextmanager
def gunicorn_server(
    workers: int = 2, threads: int = 1, env: dict[str, str] | None = None
) -> Iterator[LiveServer]:
    """gunicorn serving tests.reliability.server_settings on a free 127.0.0.1 port; stopped on
    exit (SIGTERM, then SIGKILL after 10 s)."""
    agent = AgentFactory()
    _token, raw = AuthToken.objects.create_token(agent, name="reliability")
    port = free_port()
    log = Path(tempfile.mkstemp(prefix="reliability-gunicorn-", suffix=".log")[1])
    log_file = log.open("ab")
    worker = ["--worker-class", "gthread", "--threads", str(threads)] if threads > 1 else []
    process = subprocess.Popen(  # noqa: S603
        [
            sys.executable,
            "-m",
            "gunicorn",
            "django.core.wsgi:get_wsgi_application()",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            *worker,
            "--timeout",
            "60",
            "--graceful-timeout",
            "5",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env={
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "DJANGO_SETTINGS_MODULE": "tests.reliability.server_settings",
            "RELIABILITY_DB_URL": database_url(),
            **(env or {}),
        },
        stdout=log_file,
        stderr=subprocess.STDOUT,
    )
    server = LiveServer(
        port,
        process,
        log,
        {
            "Content-Type": "application/json",
            "X-Auth-Token": raw,
            "X-User-Id": str(agent.pk),
        },
    )
    try:
        wait_until(lambda: _answers(server), 30, "gunicorn did not start:\n" + server.log_tail())
        wait_until(lambda: len(server.worker_pids()) == workers, 30, "workers did not start")
        yield server
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        log_file.close()
        log.unlink(missing_ok=True)


def _answers(server: LiveServer) -> bool:
    if server.process.poll() is not None:
        raise RuntimeError("gunicorn exited:\n" + server.log_tail())
    try:
        return server.request("GET", "/api/info", timeout=2).status == 200
    except OSError:
        return False


def wait_until(condition: Any, seconds: float, message: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(message)


@pytest.fixture
def postgres(transactional_db: Any) -> None:
    """Committed data, visible to the server's processes; PostgreSQL only."""
    requires_postgres()
