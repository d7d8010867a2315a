"""Fault tests: real Celery workers, beat and gunicorn started natively, then killed or cut off from Redis.

The processes are the production stack's (tests/warmcrm/test_stack.py), each in its own process group so
SIGKILL takes a whole worker (main process and pool children) down at once, as a crashed machine would.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from tests.warmcrm.test_stack import ROOT, Stack, _free_port, wait_for
from warmcrm.celery import app
from warmcrm.management.commands.run_stack import stack_commands

__all__ = ["Processes", "RedisServer", "wait_for"]


class Processes(Stack):
    """Start, SIGKILL and restart single processes of the stack; every log is kept by name."""

    def __init__(self, tmp: Path, **env: str) -> None:
        super().__init__(tmp)
        self.env.pop("WARMTH_CHUNK_SIZE")  # the default unless the test sets its own
        self.env.update({"WARMTH_RECOMPUTE_MINUTES": "600", "LOG_LEVEL": "INFO", **env})  # no recompute unless asked
        self.commands = stack_commands(host="127.0.0.1", port=self.port, gunicorn=True, workers=2)
        self.runs: dict[str, int] = {}

    def launch(self, name: str, command: list[str]) -> subprocess.Popen[bytes]:
        self.runs[name] = self.runs.get(name, 0) + 1
        log = (self.logs / f"{name}-{self.runs[name]}.log").open("wb")
        process = subprocess.Popen(
            command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.processes[f"{name}-{self.runs[name]}"] = process
        return process

    def worker(self, *, concurrency: int = 1) -> subprocess.Popen[bytes]:
        command = [*self.commands["worker"], "--hostname", f"faults-{self.runs.get('worker', 0) + 1}@%h"]
        command[command.index("--concurrency") + 1] = str(concurrency)
        process = self.launch("worker", command)
        wait_for(lambda: "ready." in self.log(f"worker-{self.runs['worker']}"), seconds=60, what="the worker")
        return process

    def beat(self) -> subprocess.Popen[bytes]:
        schedule = self.logs / f"beat-{self.runs.get('beat', 0) + 1}.pid"
        return self.launch("beat", [*self.commands["beat"], "--pidfile", str(schedule)])

    def web(self) -> subprocess.Popen[bytes]:
        # The manifest without the gzip/brotli copies: compressing every file costs minutes on a busy machine.
        self.env["DJANGO_STATICFILES_STORAGE"] = "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"
        subprocess.run(
            [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=ROOT, env=self.env, check=True
        )
        process = self.launch("web", self.commands["web"])
        wait_for(self.web_answers, what="gunicorn to answer /healthz")
        return process

    def kill(self, process: subprocess.Popen[bytes]) -> None:
        """SIGKILL the process and every process it started (a Celery worker's pool children too)."""
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)

    def stop(self) -> None:
        super().stop()
        for process in self.processes.values():
            with contextlib.suppress(ProcessLookupError):  # pool children a killed main process left behind
                os.killpg(process.pid, signal.SIGKILL)

    def tails(self) -> str:
        return "\n".join(
            f"--- {path.name} (tail) ---\n{path.read_text(errors='replace')[-3000:]}"
            for path in sorted(self.logs.glob("*.log"))
        )


@pytest.fixture
def processes(tmp_path: Path, settings) -> Iterator[Any]:
    """A factory of Processes sharing the test's database, media folder and a queue of their own."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
    started: list[Processes] = []
    default_queue = app.conf.task_default_queue

    def make(**env: str) -> Processes:
        stack = Processes(tmp_path / f"logs-{len(started)}", DJANGO_MEDIA_ROOT=settings.MEDIA_ROOT, **env)
        stack.logs.mkdir()
        app.conf.task_default_queue = stack.queue  # what this test process queues goes to these workers
        started.append(stack)
        return stack

    try:
        yield make
    finally:
        app.conf.task_default_queue = default_queue
        for stack in started:
            stack.stop()
            print(stack.tails())


class RedisServer:
    """A Redis of the test's own on a free port, so stopping it disturbs nobody else's (never 6379's)."""

    def __init__(self, tmp: Path) -> None:
        self.port = _free_port()
        self.dir = tmp
        self.process: subprocess.Popen[bytes] | None = None

    def url(self, db: int) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self) -> None:
        command = [
            "redis-server",
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(self.dir),
        ]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        wait_for(self.answers, seconds=10, what="redis-server to start")

    def answers(self) -> bool:
        import redis

        try:
            return bool(redis.Redis(port=self.port, socket_connect_timeout=1).ping())
        except redis.exceptions.ConnectionError:
            return False

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def active_statements(prefix: str = "") -> list[str]:
    """The statements starting with `prefix` other sessions on the test database are running now."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT left(query, 200) FROM pg_stat_activity WHERE datname = current_database() AND state = 'active' "
            "AND pid <> pg_backend_pid() AND query LIKE %s",
            [prefix + "%"],
        )
        return [row[0] for row in cursor.fetchall()]
