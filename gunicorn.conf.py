"""gunicorn settings, read from the working directory by every `gunicorn warmcrm.wsgi` (docker-compose, run_stack).

Threaded workers: a request waiting on PostgreSQL (a row lock, a commit's WAL flush) leaves its process to
the others, and kept-alive connections spare a TCP handshake per request. bench/load.py measured on 2 cores
(docs/benchmarks.md, "Load"): the health check 157 req/s with 4 sync workers, 420 req/s with 2 x 4 threads.
The number of processes stays on the command line (`--workers`); WEB_THREADS changes the threads per process.
"""

from __future__ import annotations

import os

worker_class = "gthread"
threads = int(os.environ.get("WEB_THREADS", "4"))
keepalive = 5  # seconds an idle kept-alive connection stays open
