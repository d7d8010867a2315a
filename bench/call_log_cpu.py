"""Benchmark: the CPU one call-log POST costs, in one process, on bench/load.py's database (no HTTP, no gunicorn).

    .venv/bin/python bench/call_log_cpu.py --back today --posts 100
    .venv/bin/python bench/call_log_cpu.py --back lead --posts 60 --profile 25
    .venv/bin/python bench/call_log_cpu.py --back today --queries      # one POST's SQL with each statement's time
    .venv/bin/python bench/call_log_cpu.py --healthz --posts 300       # the floor: the trivial request in-process
    .venv/bin/python bench/call_log_cpu.py --page lead --posts 60      # a GET of the load test's mix instead

Django's test client with CSRF enforced (the page's token, as the browser sends it), DJANGO_DEBUG=false and the
stack's settings (bench/load.py's environment: sessions, cache on Redis db 12) against DATABASE_URL (default
warmcrm_bench_load, prepared by `bench/load.py --prepare-only`). Each POST logs a call on a lead of Today's rows of a
load-test rep (a fresh rep per run, round-robin over loadrep01..30), outcomes as bench/locustfile.py picks them.
Python = this process's CPU (time.process_time), PostgreSQL = its backend's (psutil on pg_backend_pid()), per
POST after --warmup POSTs. --profile N prints cProfile's top N functions (by own time and cumulative).
The calls it logs stay (like the load test's): they count among the reps' calls today.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import random
import re
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/warmcrm_bench_load")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "warmcrm.settings")
for _name, _value in {
    "DJANGO_DEBUG": "false",
    "DJANGO_SECRET_KEY": "bench-call-log-cpu-" + "x" * 50,
    "DJANGO_ALLOWED_HOSTS": "testserver,127.0.0.1,localhost",
    "DJANGO_SECURE_SSL_REDIRECT": "false",
    "DJANGO_STATIC_ROOT": "/tmp/warmcrm_bench_load/static",  # bench/load.py's collectstatic (the manifest)
    "CACHE_URL": "redis://127.0.0.1:6379/12",
    "CELERY_BROKER_URL": "redis://127.0.0.1:6379/12",
    "CELERY_TASK_DEFAULT_QUEUE": "warmcrm-bench-load",
    "LOG_LEVEL": "WARNING",
}.items():
    os.environ.setdefault(_name, _value)

OUTCOMES = ["no_answer"] * 4 + ["voicemail"] * 3 + ["connected_other"] * 2 + ["not_interested", "call_back"]
ROW_ID = re.compile(r'<li id="row-(\d+)"')
PAGE_TOKEN = re.compile(r'"X-CSRFToken": "([^"]+)"')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--back", choices=["today", "lead"], default="today", help="where the POST comes from")
    parser.add_argument("--posts", type=int, default=100)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--rep", type=int, help="loadrepNN to use (default: the one after the last run's)")
    parser.add_argument("--profile", type=int, default=0, help="print cProfile's top N functions")
    parser.add_argument("--queries", action="store_true", help="print one POST's SQL with each statement's time")
    parser.add_argument("--healthz", action="store_true", help="GET /healthz instead: the floor of a request")
    parser.add_argument(
        "--page",
        choices=["today", "lead", "form"],
        help="GET this page of the mix instead (Today in full, a lead page, a row's call form with htmx)",
    )
    args = parser.parse_args()

    import django

    django.setup()
    import psutil
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.utils import timezone

    state = Path("/tmp/warmcrm_bench_call_log_cpu.rep")
    number = args.rep or (int(state.read_text()) % 30 + 1 if state.exists() else 1)
    state.write_text(str(number))
    rep = get_user_model().objects.get(username=f"loadrep{number:02d}")
    client = Client(enforce_csrf_checks=True)
    client.force_login(rep)
    rng = random.Random(number)
    queue: list[int] = []
    token = ""

    def today() -> None:
        nonlocal queue, token
        html = client.get("/leads/today/").content.decode()
        queue = list(dict.fromkeys(int(pk) for pk in ROW_ID.findall(html)))
        rng.shuffle(queue)
        token = PAGE_TOKEN.search(html).group(1)

    def one() -> None:
        if args.healthz:
            assert client.get("/healthz").status_code == 200
            return
        if not queue:
            today()
        lead_id = queue.pop()
        if args.page:
            path, headers = {
                "today": ("/leads/today/", {}),
                "lead": (f"/leads/{lead_id}/", {}),
                "form": (f"/calls/log/{lead_id}/?back=today", {"HTTP_HX_REQUEST": "true"}),
            }[args.page]
            assert client.get(path, **headers).status_code == 200
            return
        outcome = rng.choice(OUTCOMES)
        data = {"outcome": outcome, "notes": "load test", "csrfmiddlewaretoken": token, "back": args.back}
        if outcome == "call_back":
            data["call_back_on"] = (timezone.localdate() + timedelta(days=2)).isoformat()
        response = client.post(f"/calls/log/{lead_id}/", data, HTTP_HX_REQUEST="true", HTTP_X_CSRFTOKEN=token)
        expect = "data-just-logged" if args.back == "today" else 'id="lead-body"'
        assert response.status_code == 200 and expect in response.content.decode(), response.content[:300]

    today()
    for _ in range(args.warmup):
        one()
    backend = psutil.Process(connection.connection.info.backend_pid)

    if args.queries:
        if not queue:
            today()
        captured: list[tuple[float, str]] = []

        def timed(execute, sql, params, many, context):  # noqa: ANN001, ANN202
            started = time.perf_counter()
            try:
                return execute(sql, params, many, context)
            finally:
                captured.append(((time.perf_counter() - started) * 1000, sql))

        started = time.perf_counter()
        with connection.execute_wrapper(timed):
            one()
        wall = (time.perf_counter() - started) * 1000
        for number_, (ms, sql) in enumerate(captured, 1):
            print(f"{number_:2d} {ms:6.2f} ms  {sql[:220]}")
        print(f"{len(captured)} queries, {sum(ms for ms, _ in captured):.1f} ms in SQL of {wall:.1f} ms wall")
        return

    profiler = cProfile.Profile() if args.profile else None
    py0, pg0, wall0 = time.process_time(), sum(backend.cpu_times()[:2]), time.perf_counter()
    if profiler:
        profiler.enable()
    for _ in range(args.posts):
        one()
    if profiler:
        profiler.disable()
    py = (time.process_time() - py0) * 1000 / args.posts
    pg = (sum(backend.cpu_times()[:2]) - pg0) * 1000 / args.posts
    wall = (time.perf_counter() - wall0) * 1000 / args.posts
    what = "GET /healthz" if args.healthz else f"GET {args.page}" if args.page else f"POST from {args.back}"
    print(
        f"{what}, loadrep{number:02d}, {args.posts} requests: Python {py:.1f} + PostgreSQL {pg:.1f} = "
        f"{py + pg:.1f} ms CPU per request, wall {wall:.1f} ms; load average {os.getloadavg()[0]:.2f}"
    )
    if profiler:
        for order in ("tottime", "cumulative"):
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats(order).print_stats(args.profile)
            print(out.getvalue())


if __name__ == "__main__":
    main()
