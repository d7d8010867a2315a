"""`make demo`'s process set on the embedded defaults: runserver, a real Celery worker and beat on the
filesystem broker and a SQLite file, with no Redis or PostgreSQL."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_run_stack_serves_and_runs_beat_and_worker_on_the_embedded_defaults(tmp_path: Path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    database = tmp_path / "demo.sqlite3"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_", "CELERY_"))},
        "DATABASE_URL": f"sqlite:///{database}",
        "CELERY_FILESYSTEM_DIR": str(tmp_path / "celery"),
        "WARMTH_RECOMPUTE_MINUTES": "0.05",
    }
    run = {"cwd": ROOT, "env": env, "check": True, "capture_output": True}
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], **run)
    subprocess.run([sys.executable, "manage.py", "seed_demo", "--leads", "30"], **run)
    with sqlite3.connect(database) as db:
        db.execute("UPDATE leads_lead SET warmth_computed_at = NULL, warmth = 0")
    stack = subprocess.Popen(
        [sys.executable, "manage.py", "run_stack", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 90
        scored = served = False
        while time.monotonic() < deadline and not (scored and served):
            time.sleep(1)
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/accounts/login/", timeout=3) as response:
                    served = response.status == 200
            except OSError:
                served = False  # not listening yet
            with sqlite3.connect(database) as db:
                scored = (
                    db.execute("SELECT COUNT(*) FROM leads_lead WHERE warmth_computed_at IS NULL").fetchone()[0] == 0
                )
        assert served, "the web server did not answer"
        assert scored, "beat and the worker did not rescore the leads"
    finally:
        stack.send_signal(signal.SIGINT)
        output = stack.communicate(timeout=30)[0].decode(errors="replace")
    assert "WarmCRM is running at http://127.0.0.1:" in output
    assert "rita (rep)" in output
    assert "Stopped." in output
    assert stack.returncode == 0, output[-3000:]
