"""Shared benchmark helpers: the feed server process, timed child processes, statistics, machine facts."""

from __future__ import annotations

import compileall
import json
import os
import platform
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
SITMON = [PYTHON, "-m", "monitor"]
"""How the benchmarks launch sitmon: the same interpreter and code as `sitmon` (the console script)."""

SERVER_START_TIMEOUT = 30.0


@dataclass(frozen=True, slots=True)
class FeedServer:
    """A running benchmarks/feedserver.py process."""

    process: subprocess.Popen[bytes]
    ports: list[int]

    def url(self, index: int, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[index % len(self.ports)]}/{name}"

    def stats(self) -> dict[str, int]:
        """Requests answered since the last call, by status code (and resets the count)."""
        with urllib.request.urlopen(f"http://127.0.0.1:{self.ports[0]}/_stats", timeout=10) as response:
            counts: dict[str, int] = json.loads(response.read())
        return counts


@contextmanager
def feed_server(
    root: Path, *, ports: int = 40, latency: float = 0.0, gzip: bool = False
) -> Iterator[FeedServer]:
    """Serve `root` from a separate process on 127.0.0.1 for the duration of the block."""
    ready = root.parent / f".{root.name}.server.json"
    ready.unlink(missing_ok=True)
    command = [PYTHON, "-m", "tests.benchmarks.feedserver", str(root), "--ports", str(ports),
               "--latency", str(latency), "--ready", str(ready), *(["--gzip"] if gzip else [])]  # fmt: skip
    process = subprocess.Popen(command, cwd=REPO)
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while not ready.exists():
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the feed server did not start")
            time.sleep(0.02)
        info = json.loads(ready.read_text())
        yield FeedServer(process, info["ports"])
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        ready.unlink(missing_ok=True)


@dataclass(frozen=True, slots=True)
class Timed:
    """One child process run: wall seconds, CPU seconds (user+sys) and peak RSS of the child."""

    wall: float
    cpu: float
    returncode: int
    stdout: str
    stderr: str


def run_timed(command: Sequence[str], *, env: dict[str, str] | None = None, cwd: Path | None = None,
              timeout: float = 600.0) -> Timed:  # fmt: skip
    """Run a command to completion; wall time covers the whole process, interpreter start included."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(list(command), env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          check=False)  # fmt: skip
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Timed(wall, cpu, done.returncode, done.stdout, done.stderr)


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100); plain and predictable for small samples."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(p / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def rss_mb() -> float:
    """Current resident set size of this process in MB (Linux /proc)."""
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 1e6


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def newsboat_version() -> str | None:
    exe = shutil.which("newsboat")
    if exe is None:
        return None
    done = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=30, check=False)
    return (done.stdout.splitlines() or ["newsboat ?"])[0].split(" - ")[0]


def machine() -> dict[str, str]:
    """The facts a reader needs to compare figures: CPU, cores, memory, OS, versions."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        mem = next(
            line for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal")
        )
        memory = f"{int(mem.split()[1]) / 1024 / 1024:.1f} GB"
    except (OSError, StopIteration):
        memory = "?"
    facts = {
        "cpu": f"{cpu}, {os.cpu_count()} cores",
        "memory": memory,
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
    }
    for package in ("textual", "httpx", "lxml", "feedparser", "sqlite-utils"):
        facts[package] = _version(package)
    facts["newsboat"] = newsboat_version() or "not installed"
    return facts


def compile_package() -> None:
    """Byte-compile the app as installing it does. Without this, an environment that sets
    PYTHONDONTWRITEBYTECODE (as CI images often do) compiles every module at every launch: 20 ms of a
    poll's start, 60 to 80 ms of the TUI's, costs no installed copy pays."""
    compileall.compile_dir(REPO / "monitor", quiet=1)


def print_machine() -> None:
    compile_package()
    print("machine: " + "; ".join(f"{k} {v}" for k, v in machine().items()))


NEWSBOAT_MISSING = (
    "newsboat is not installed, so its column is skipped. Install it with "
    "`sudo apt-get install newsboat` (Debian/Ubuntu) and run this again."
)
