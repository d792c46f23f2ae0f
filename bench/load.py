"""Load-generating clients: keep-alive ``http.client`` connections, one per process.

Imported by spawned processes: this module must stay free of Django and heavy imports.
"""

from __future__ import annotations

import http.client
import time
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Job:
    port: int
    path: str
    headers: dict[str, str]
    body: bytes
    messages: int  # per request
    start_at: float  # time.time() at which every client starts
    duration: float  # seconds; clients stop starting requests after it
    min_requests: int = 1
    max_requests: int = 1_000_000
    method: str = "POST"


@dataclass
class Outcome:
    latencies: list[float] = field(default_factory=list)
    statuses: dict[str, int] = field(default_factory=dict)
    messages: int = 0
    finished_at: float = 0.0


def run(job: Job) -> Outcome:
    out = Outcome()
    conn = http.client.HTTPConnection("127.0.0.1", job.port, timeout=120)
    delay = job.start_at - time.time()
    if delay > 0:
        time.sleep(delay)
    deadline = job.start_at + job.duration
    done = 0
    while done < job.max_requests and (time.time() < deadline or done < job.min_requests):
        started = time.perf_counter()
        try:
            conn.request(
                job.method,
                job.path,
                body=job.body if job.method == "POST" else None,
                headers=job.headers,
            )
            response = conn.getresponse()
            response.read()
            status = str(response.status)
            if response.getheader("Connection", "").lower() == "close":
                conn.close()
        except (OSError, http.client.HTTPException) as exc:
            status = type(exc).__name__
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", job.port, timeout=120)
        out.latencies.append(time.perf_counter() - started)
        out.statuses[status] = out.statuses.get(status, 0) + 1
        if status == "200":
            out.messages += job.messages
        done += 1
    out.finished_at = time.time()
    conn.close()
    return out


def run_many(jobs: list[Job], pool: Any) -> tuple[list[Outcome], float]:
    """Run ``jobs`` at once in ``pool``; return the outcomes and the wall time from the start."""
    outcomes = pool.map(run, jobs, chunksize=1)
    start = min(job.start_at for job in jobs)
    return outcomes, max(o.finished_at for o in outcomes) - start
