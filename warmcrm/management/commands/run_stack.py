"""`python manage.py run_stack`: the web server, a Celery worker and beat in one terminal; Ctrl-C stops all.

The demo's process supervisor. Production runs the same three commands under its own supervisor
(docker-compose.yml); `--gunicorn` uses gunicorn instead of Django's development server.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from typing import IO, Any

from django.core.management.base import BaseCommand, CommandParser

from warmcrm.demo import DEMO_PASSWORD, DEMO_USERS


def stack_commands(*, host: str, port: int, gunicorn: bool, workers: int) -> dict[str, list[str]]:
    """The three process command lines, shared with docker-compose.yml and the production-stack test."""
    python = sys.executable
    web = (
        [
            python,
            "-m",
            "gunicorn",
            "warmcrm.wsgi",
            "--bind",
            f"{host}:{port}",
            "--workers",
            str(workers),
            "--access-logfile",
            "-",
        ]
        if gunicorn
        else [python, "manage.py", "runserver", f"{host}:{port}", "--noreload"]
    )
    return {
        "web": web,
        "worker": [python, "-m", "celery", "-A", "warmcrm", "worker", "--loglevel", "INFO", "--concurrency", "2"],
        "beat": [python, "-m", "celery", "-A", "warmcrm", "beat", "--loglevel", "INFO"],
    }


def _pump(name: str, stream: IO[bytes], out: Any) -> None:
    for line in iter(stream.readline, b""):
        out.write(f"{name:>6} | {line.decode(errors='replace')}")
        out.flush()


class Command(BaseCommand):
    help = "Run the web server, a Celery worker and Celery beat until Ctrl-C."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--gunicorn", action="store_true", help="Serve with gunicorn instead of runserver.")
        parser.add_argument("--web-workers", type=int, default=2)

    def handle(self, *args: Any, host: str, port: int, gunicorn: bool, web_workers: int, **options: Any) -> None:
        commands = stack_commands(host=host, port=port, gunicorn=gunicorn, workers=web_workers)
        processes: dict[str, subprocess.Popen[bytes]] = {}
        for name, command in commands.items():
            processes[name] = subprocess.Popen(
                command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=os.environ.copy(), start_new_session=True
            )
            threading.Thread(target=_pump, args=(name, processes[name].stdout, sys.stdout), daemon=True).start()
        self.stdout.write(self.style.SUCCESS(f"\nWarmCRM is running at http://{host}:{port}/  (Ctrl-C stops it)"))
        self.stdout.write(
            f"Logins (password {DEMO_PASSWORD}): " + ", ".join(f"{u} ({r})" for u, _, _, r in DEMO_USERS) + "\n"
        )
        stopping = False

        def stop(*_: Any) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        try:
            while not stopping:
                exited = [name for name, process in processes.items() if process.poll() is not None]
                if exited:
                    self.stderr.write(f"{', '.join(exited)} stopped; stopping the rest.")
                    break
                time.sleep(0.5)
        finally:
            for process in processes.values():
                if process.poll() is None:
                    process.terminate()
            deadline = time.monotonic() + 15
            for process in processes.values():
                try:
                    process.wait(timeout=max(deadline - time.monotonic(), 0.1))
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
        self.stdout.write("Stopped.")
        if not stopping:
            sys.exit(1)
