"""Benchmark: the production stack under a mixed load while an admin imports a 100k-row list.

    flock /tmp/team/bench.lock .venv/bin/python bench/load.py --leads 100000 --calls 1000000 --duration 90

Prepares its own PostgreSQL database (warmcrm_bench_load*, created if missing) the way bench/dashboard.py
does (seed_demo --leads N --force, calls topped up set-based to --calls, VACUUM ANALYZE), shares the reps'
leads among --reps load-test reps, writes an import file with bench/import.py's generator and has the stack's
worker dry-run it. The stack runs natively as subprocesses: gunicorn (--web-workers, --worker-class), one
Celery worker (--celery-concurrency pool processes) and beat, on Redis db 12 (broker and cache), with
DJANGO_DEBUG=false. Locust (bench/locustfile.py) then runs headless against 127.0.0.1: reps on Today, the
call form, the htmx call-log POST, lead pages; a manager reloading the dashboard; the admin confirming the
import (the Celery worker runs it) and polling its state; a /healthz probe as the baseline of the same run.
Each process's RSS is read at the start and the end (psutil), CPU is added up per process group, then
everything is stopped and the figures printed: per endpoint req/s, p50/p95/p99 and errors, before the import
and while it runs (the job's status is watched). Every wait is bounded by a deadline; the import's leads are
undone afterwards so the database stays at --leads. Results go to docs/benchmarks.md ("## Load").
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path
from statistics import quantiles
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DB_PREFIX = "warmcrm_bench_load"
WORK = Path(tempfile.gettempdir()) / "warmcrm_bench_load"
REDIS_DB = 12
os.environ.setdefault("DATABASE_URL", f"postgres://postgres@127.0.0.1:5432/{DB_PREFIX}")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "warmcrm.settings")
# The stack's production environment. This process reads the same one, so the sessions it creates and the
# import job it prepares are the stack's.
STACK_ENV = {
    "DJANGO_DEBUG": "false",
    "DJANGO_SECRET_KEY": secrets.token_urlsafe(60),
    "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
    "DJANGO_SECURE_SSL_REDIRECT": "false",  # plain HTTP on loopback; TLS ends at the proxy in production
    "DJANGO_STATIC_ROOT": str(WORK / "static"),
    "DJANGO_MEDIA_ROOT": str(WORK / "media"),
    "CELERY_BROKER_URL": f"redis://127.0.0.1:6379/{REDIS_DB}",
    "CACHE_URL": f"redis://127.0.0.1:6379/{REDIS_DB}",
    "CELERY_TASK_DEFAULT_QUEUE": "warmcrm-bench-load",
    "LOG_LEVEL": "WARNING",
}
for _name, _value in STACK_ENV.items():
    os.environ.setdefault(_name, _value)
IMPORT_EVENT = "Load Expo"
POSTS = ("POST /calls/log/<id>/ (today)", "POST /calls/log/<id>/ (lead page)", "POST /bench/floor/<id>/ (floor)")
ALL_POSTS = "all call-log POSTs"
BASELINE = "GET /healthz (baseline)"
FLOOR_NOTES = "load test (floor)"  # the notes of the floor's calls (bench/locustfile.py), removed after the run


def bench_module(name: str) -> ModuleType:
    """bench/<name>.py as a module: bench/ holds scripts, not a package (and `import` is a keyword)."""
    spec = importlib.util.spec_from_file_location(f"bench_{name}", ROOT / "bench" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def wait_until(check: Callable[[], bool], *, seconds: float, what: str, every: float = 0.5) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(every)
    sys.exit(f"timed out after {seconds:.0f} s waiting for {what}")


def sql(statement: str, params: list | None = None) -> list[tuple]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(statement, params or [])
        return cursor.fetchall() if cursor.description else []


# --- The database -----------------------------------------------------------------------------------------


def prepare(args: argparse.Namespace) -> dict:
    """Seeded data, the load-test reps sharing the reps' leads, no left-over import, an empty Redis db."""
    import redis
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from calls.models import Call
    from leads.models import Lead
    from leads.services import user_create

    redis.Redis(host="127.0.0.1", port=6379, db=REDIS_DB).flushdb()  # no task left over from a stopped run
    call_command("migrate", verbosity=0)
    undo_earlier_imports()
    if Lead.objects.count() < args.leads or Call.objects.count() < args.calls:
        bench_module("dashboard").fill(args.leads, args.calls)  # seed_demo, calls set-based, VACUUM ANALYZE
    users = get_user_model().objects
    reps = [
        users.filter(username=f"loadrep{number:02d}").first()
        or user_create(username=f"loadrep{number:02d}", password=secrets.token_urlsafe(), role="rep")
        for number in range(1, args.reps + 1)
    ]
    share_leads([rep.pk for rep in reps])
    # What autovacuum would have done since the last run (this server runs with autovacuum = off): without it the
    # visibility map stays cleared by share_leads' and the earlier runs' updates, and no index-only scan stays one.
    sql("VACUUM ANALYZE leads_lead, leads_followup, calls_call, calls_repcallhour, leads_timelineentry")
    return {"reps": reps, "manager": users.get(username="maria"), "admin": users.get(username="adam")}


def share_leads(rep_ids: list[int]) -> None:
    """Every rep's lead (and its follow-ups) goes to one of the load-test reps, round-robin by id; once."""
    rep_group = "SELECT user_id FROM auth_user_groups g JOIN auth_group a ON a.id = g.group_id WHERE a.name = 'rep'"
    others = sql(
        f"SELECT count(*) FROM leads_lead WHERE owner_id IN ({rep_group}) AND NOT owner_id = ANY(%s)", [rep_ids]
    )
    if not others[0][0]:
        return
    print(f"sharing {others[0][0]:,} leads among {len(rep_ids)} reps ...", flush=True)
    sql(
        f"UPDATE leads_lead SET owner_id = (%s::bigint[])[id %% %s + 1] WHERE owner_id IN ({rep_group})",
        [rep_ids, len(rep_ids)],
    )
    sql(
        "UPDATE leads_followup f SET owner_id = l.owner_id FROM leads_lead l "
        "WHERE l.id = f.lead_id AND f.owner_id IS NOT NULL AND f.owner_id <> l.owner_id"
    )
    sql("ANALYZE leads_lead")
    sql("ANALYZE leads_followup")


def undo_earlier_imports() -> None:
    """A finished load-test import is undone (its leads removed), so every run starts from --leads."""
    from leads import import_services
    from leads.models import ImportJob

    for job in ImportJob.objects.filter(event_name=IMPORT_EVENT, status__in=[ImportJob.Status.DONE]):
        report = import_services.import_job_undo(job=job, actor=job.created_by)
        print(f"undid load-test import {job.pk}: removed {report['removed']:,} leads, kept {report['kept']:,}")
    # One never confirmed (an interrupted run): mark it failed so it is not picked up again.
    ImportJob.objects.filter(event_name=IMPORT_EVENT).exclude(
        status__in=[ImportJob.Status.DONE, ImportJob.Status.UNDONE]
    ).update(status=ImportJob.Status.FAILED, failure="left over from an interrupted load test")


def sessions_for(users: list) -> list[str]:
    """A logged-in session per locust user, made as `login()` makes it (the reps logged in this morning)."""
    from importlib import import_module

    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY

    store = import_module(settings.SESSION_ENGINE).SessionStore
    backend = "django.contrib.auth.backends.ModelBackend"
    keys = []
    for user in users:
        session = store()
        session[SESSION_KEY], session[BACKEND_SESSION_KEY] = str(user.pk), backend
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.create()
        keys.append(session.session_key)
    return keys


def import_job_checked(args: argparse.Namespace, admin, rep_ids: list[int]) -> int:  # noqa: ANN001
    """A 100k-row file uploaded and dry-run by the stack's worker: the admin only has to confirm it."""
    from django.utils import timezone

    from leads import import_services
    from leads.models import ImportJob

    path = WORK / f"load-import-{args.import_rows}.csv"
    if not path.exists():
        bench_module("import").write_file(path, args.import_rows, existing=0)
    with open(path, "rb") as stream:
        job = import_services.import_job_create(
            actor=admin, source=stream, file_name=path.name, size=path.stat().st_size
        )
    import_services.import_job_configure(
        job=job,
        actor=admin,
        mapping=job.mapping,
        connection_type="event_list",
        owner_ids=rep_ids,
        event_name=IMPORT_EVENT,
        event_date=timezone.localdate(),
    )
    started = time.monotonic()
    wait_until(
        lambda: ImportJob.objects.get(pk=job.pk).status in (ImportJob.Status.CHECKED, ImportJob.Status.FAILED),
        seconds=600,
        what="the dry run",
    )
    job.refresh_from_db()
    if job.status != ImportJob.Status.CHECKED:
        sys.exit(f"the dry run failed: {job.failure}")
    print(f"import job {job.pk}: {job.rows_total:,} rows, dry run {time.monotonic() - started:.0f} s", flush=True)
    return job.pk


class ImportWatch(threading.Thread):
    """Notes when the job is first seen running and first seen finished (wall-clock, like the locust log)."""

    def __init__(self, job_id: int, deadline: float) -> None:
        super().__init__(daemon=True)
        self.job_id, self.deadline = job_id, deadline
        self.running_at: float | None = None
        self.finished_at: float | None = None
        self.status = ""

    def run(self) -> None:
        from django.db import connection

        from leads.models import ImportJob

        try:
            while time.monotonic() < self.deadline and self.finished_at is None:
                self.status = ImportJob.objects.values_list("status", flat=True).get(pk=self.job_id)
                if self.status == ImportJob.Status.RUNNING and self.running_at is None:
                    self.running_at = time.time()
                if self.status in (ImportJob.Status.DONE, ImportJob.Status.FAILED):
                    self.finished_at = time.time()
                    self.running_at = self.running_at or self.finished_at
                time.sleep(0.25)
        finally:
            connection.close()


# --- The stack -------------------------------------------------------------------------------------------


class Stack:
    def __init__(self, args: argparse.Namespace) -> None:
        from warmcrm.management.commands.run_stack import stack_commands

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.commands = stack_commands(host="127.0.0.1", port=self.port, gunicorn=True, workers=args.web_workers)
        if args.worker_class:  # otherwise gunicorn.conf.py's (threaded workers)
            self.commands["web"] += ["--worker-class", args.worker_class]
        if args.threads:
            self.commands["web"] += ["--threads", str(args.threads)]
        worker = self.commands["worker"]
        worker[worker.index("--concurrency") + 1] = str(args.celery_concurrency)
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.logs = WORK / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        if not (WORK / "static" / "staticfiles.json").exists():
            subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=ROOT, check=True)
        for name, command in self.commands.items():
            log = (self.logs / f"{name}.log").open("wb")
            self.processes[name] = subprocess.Popen(
                command, cwd=ROOT, env=os.environ.copy(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        wait_until(self.answers, seconds=60, what="gunicorn to answer /healthz")

    def answers(self) -> bool:
        import urllib.request

        for name, process in self.processes.items():
            if process.poll() is not None:
                sys.exit(f"{name} exited: {(self.logs / f'{name}.log').read_text(errors='replace')[-2000:]}")
        try:
            with urllib.request.urlopen(f"{self.url}/healthz", timeout=2) as response:
                return response.status == 200
        except OSError:
            return False

    def members(self) -> dict[str, object]:
        """Each process of the stack by a readable name: the gunicorn master and workers, celery, beat."""
        import psutil

        found: dict[str, object] = {}
        for name, popen in self.processes.items():
            root = psutil.Process(popen.pid)
            label = {"web": "gunicorn master", "worker": "celery worker (main)", "beat": "celery beat"}[name]
            found[label] = root
            child_label = {"web": "gunicorn worker", "worker": "celery pool process", "beat": "beat child"}[name]
            for number, child in enumerate(sorted(root.children(), key=lambda p: p.pid), start=1):
                found[f"{child_label} {number}"] = child
        return found

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)


class Usage(threading.Thread):
    """RSS of the stack's processes (start, end, peak) and CPU seconds per process group, sampled each second."""

    def __init__(self, members: dict[str, object], locust_pid: int, deadline: float, warm_at: float) -> None:
        import psutil

        super().__init__(daemon=True)
        self.members, self.deadline, self.warm_at = members, deadline, warm_at
        self.rss_start = {name: proc.memory_info().rss for name, proc in members.items()}
        self.rss_warm: dict[str, int] = {}  # after the warm-up: each process has loaded its code and templates
        self.rss_peak = dict(self.rss_start)
        self.rss_end: dict[str, int] = {}
        self.locust = psutil.Process(locust_pid)
        self.cpu_start: dict[int, float] = {}
        self.cpu_last: dict[int, float] = {}
        self.group: dict[int, str] = {}
        self.stopping = threading.Event()
        self.waits: Counter[str] = Counter()  # active backends by wait event, summed over the samples
        self.samples = 0
        self.cpu_total_start = psutil.cpu_times()
        self.sample()
        self.cpu_start = dict(self.cpu_last)

    def sample(self) -> None:
        import psutil

        procs: dict[str, object] = {**self.members, "locust": self.locust}
        for proc in psutil.process_iter(["name"]):
            if proc.info["name"] in ("postgres", "redis-server"):
                procs[f"{proc.info['name']} {proc.pid}"] = proc
        for name, proc in procs.items():
            try:
                times = proc.cpu_times()
                self.cpu_last[proc.pid] = times.user + times.system
                self.group.setdefault(proc.pid, self.group_of(name))
                if name in self.members:
                    rss = proc.memory_info().rss
                    self.rss_peak[name] = max(self.rss_peak[name], rss)
                    if time.monotonic() >= self.warm_at:
                        self.rss_warm.setdefault(name, rss)
            except psutil.Error:
                continue

    @staticmethod
    def group_of(name: str) -> str:
        for prefix, group in (
            ("gunicorn", "gunicorn (all)"),
            ("celery beat", "celery beat"),
            ("celery", "celery worker (all)"),
            ("locust", "locust (load generator)"),
            ("postgres", "PostgreSQL (all backends)"),
            ("redis", "Redis"),
        ):
            if name.startswith(prefix):
                return group
        return name

    def run(self) -> None:
        from django.db import connection

        try:
            while not self.stopping.wait(1.0) and time.monotonic() < self.deadline:
                self.sample()
                self.sample_waits()
        finally:
            connection.close()

    def sample_waits(self) -> None:
        """What the database's active backends are doing right now: on CPU, or waiting (a lock, a WAL flush)."""
        rows = sql(
            "SELECT coalesce(wait_event_type || ': ' || wait_event, 'on CPU'), count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND state = 'active' AND pid <> pg_backend_pid() GROUP BY 1"
        )
        self.samples += 1
        for what, count in rows:
            self.waits[what] += count

    def finish(self) -> None:
        import psutil

        self.stopping.set()
        self.join(timeout=5)
        self.sample()
        self.cpu_total_end = psutil.cpu_times()
        for name, proc in self.members.items():
            try:
                self.rss_end[name] = proc.memory_info().rss
            except psutil.Error:
                self.rss_end[name] = 0

    def cpu_by_group(self) -> dict[str, float]:
        totals: dict[str, float] = defaultdict(float)
        for pid, seconds in self.cpu_last.items():
            totals[self.group[pid]] += seconds - self.cpu_start.get(pid, 0.0)
        return dict(totals)

    def busy_seconds(self) -> tuple[float, float]:
        """(CPU seconds used by anything, CPU seconds available) over the run, machine-wide."""
        start, end = self.cpu_total_start, self.cpu_total_end
        idle = (end.idle + getattr(end, "iowait", 0)) - (start.idle + getattr(start, "iowait", 0))
        total = sum(end) - sum(start)
        return total - idle, total


# --- The load and its figures --------------------------------------------------------------------------


def run_locust(args: argparse.Namespace, stack: Stack, env: dict[str, str], events_path: Path) -> tuple[int, float]:
    users = args.users + 3  # the reps, plus one manager, one admin and the probe
    command = [
        sys.executable, "-m", "locust", "-f", str(ROOT / "bench" / "locustfile.py"), "--headless",
        "-u", str(users), "-r", str(max(1, users // 2)), "-t", f"{args.duration}s", "--host", stack.url,
        "--only-summary", "--stop-timeout", "5", "--loglevel", "WARNING",
    ]  # fmt: skip
    log = (stack.logs / "locust.log").open("wb")
    events_path.unlink(missing_ok=True)
    started = time.time()
    process = subprocess.Popen(command, cwd=ROOT, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT)
    return process.pid, started


def percentile_row(name: str, times: list[float], errors: int, seconds: float) -> str:
    if len(times) >= 2:
        cuts = quantiles(times, n=100, method="inclusive")
        p50, p95, p99 = cuts[49], cuts[94], cuts[98]
    else:
        p50 = p95 = p99 = times[0] if times else float("nan")
    return f"| {name} | {len(times):,} | {len(times) / seconds:.1f} | {p50:.0f} | {p95:.0f} | {p99:.0f} | {errors} |"


def read_events(path: Path) -> list[tuple[float, str, float, str]]:
    rows = []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            parts = line.rstrip("\n").split("\t")
            if len(parts) == 5:
                rows.append((float(parts[0]), parts[1], float(parts[2]), parts[4]))
    return rows


def phase_table(title: str, events: list, start: float, end: float) -> list[str]:
    seconds = max(end - start, 1e-9)
    chosen = [event for event in events if start <= event[0] < end]
    times: dict[str, list[float]] = defaultdict(list)
    errors: Counter[str] = Counter()
    for _, name, ms, error in chosen:
        for key in (name, ALL_POSTS) if name in POSTS else (name,):
            times[key].append(ms)
            errors[key] += bool(error)
    lines = [
        f"\n{title}: {seconds:.0f} s\n",
        "| endpoint | requests | req/s | p50 ms | p95 ms | p99 ms | errors |",
        "|---|---|---|---|---|---|---|",
    ]
    for name in sorted(times, key=lambda key: (key == ALL_POSTS, key == BASELINE, key)):
        lines.append(percentile_row(name, times[name], errors[name], seconds))
    if times.get(BASELINE) and times.get(ALL_POSTS):
        post, base = sorted(times[ALL_POSTS]), sorted(times[BASELINE])
        lines.append(
            f"\ncall-log POST / healthz: p50 {post[len(post) // 2] / base[len(base) // 2]:.1f}x, "
            f"p95 {post[int(len(post) * 0.95)] / base[int(len(base) * 0.95)]:.1f}x"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--calls", type=int, default=1_000_000)
    parser.add_argument("--reps", type=int, default=30, help="load-test reps sharing the reps' leads")
    parser.add_argument("--users", type=int, default=60, help="rep sessions (locust users) working their lists")
    parser.add_argument("--call-rate", type=float, default=4.0, help="calls logged per second per rep session")
    parser.add_argument("--duration", type=int, default=90, help="seconds of load")
    parser.add_argument("--warmup", type=int, default=5, help="first seconds left out of the figures")
    parser.add_argument("--import-rows", type=int, default=100_000, help="0: no import")
    parser.add_argument("--import-at", type=float, default=20, help="seconds into the load the admin confirms")
    parser.add_argument("--web-workers", type=int, default=4)
    parser.add_argument("--worker-class", help="gunicorn worker class (default: gunicorn.conf.py's)")
    parser.add_argument("--threads", type=int, help="threads per gunicorn worker (default: gunicorn.conf.py's)")
    parser.add_argument("--celery-concurrency", type=int, default=2)
    parser.add_argument(
        "--parallel-workers",
        type=int,
        help="DATABASE_MAX_PARALLEL_WORKERS_PER_GATHER for the stack (0: no parallel query)",
    )
    parser.add_argument(
        "--scenario",
        choices=["mix", "posts", "floor", "healthz"],
        default="mix",
        help="posts: the call-log POST alone; floor: the least a call-log POST can do (bench/floor_urls.py) alone; "
        "healthz: the trivial request alone",
    )
    parser.add_argument("--today-every", type=int, default=25, help="calls a rep logs before reloading Today")
    parser.add_argument("--prepare-only", action="store_true", help="fill the database, then stop")
    args = parser.parse_args()
    if not os.environ["DATABASE_URL"].rsplit("/", 1)[-1].startswith(DB_PREFIX):
        sys.exit(f"Use a database whose name starts with {DB_PREFIX}: this script rewrites its data.")
    WORK.mkdir(parents=True, exist_ok=True)
    if args.scenario == "floor":  # the product's settings and URLs, plus the floor's POST (the stack inherits it)
        os.environ["DJANGO_SETTINGS_MODULE"] = "bench.floor_settings"
    if args.parallel_workers is not None:
        os.environ["DATABASE_MAX_PARALLEL_WORKERS_PER_GATHER"] = str(args.parallel_workers)
    bench_module("import").ensure_database()

    import django

    django.setup()
    from calls.models import Call
    from leads.models import ImportJob, Lead

    people = prepare(args)
    if args.prepare_only:
        print(f"data: {Lead.objects.count():,} leads, {Call.objects.count():,} calls")
        return
    stack = Stack(args)
    print(f"data: {Lead.objects.count():,} leads, {Call.objects.count():,} calls; starting the stack ...", flush=True)
    try:
        stack.start()
        rep_ids = [rep.pk for rep in people["reps"]]
        job_id = import_job_checked(args, people["admin"], rep_ids) if args.import_rows else 0
        rep_users = [people["reps"][number % len(people["reps"])] for number in range(args.users)]
        keys = sessions_for([*rep_users, people["manager"], people["admin"]])
        events_path = WORK / "events.tsv"
        env = {
            "LOAD_REP_SESSIONS": ",".join(keys[: args.users]),
            "LOAD_MANAGER_SESSION": keys[-2],
            "LOAD_ADMIN_SESSION": keys[-1],
            "LOAD_IMPORT_JOB": str(job_id),
            "LOAD_IMPORT_AT": str(args.import_at),
            "LOAD_CALL_RATE": str(args.call_rate),
            "LOAD_EVENTS_PATH": str(events_path),
            "LOAD_SCENARIO": args.scenario,
            "LOAD_TODAY_EVERY": str(args.today_every),
            "LOAD_FLOOR_NOTES": FLOOR_NOTES,
        }
        calls_before = Call.objects.count()
        calls_high = Call.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        load_before = os.getloadavg()
        members = stack.members()
        locust_pid, started = run_locust(args, stack, env, events_path)
        deadline = time.monotonic() + args.duration + 120
        usage = Usage(members, locust_pid, deadline, warm_at=time.monotonic() + args.warmup)
        usage.start()
        watch = ImportWatch(job_id, deadline + 600) if job_id else None
        if watch:
            watch.start()
        import psutil

        locust = psutil.Process(locust_pid)
        try:
            locust.wait(timeout=args.duration + 120)
        except psutil.TimeoutExpired:
            locust.kill()
            sys.exit("locust did not stop in time")
        ended = time.time()
        usage.finish()
        load_after = os.getloadavg()
        calls_saved = Call.objects.count() - calls_before
        if args.scenario == "floor":  # bare call rows, which no lead's history accounts for: not left behind
            Call.objects.filter(notes=FLOOR_NOTES, pk__gt=calls_high).delete()
        if watch:
            watch.join(timeout=600)  # the import finishes before the stack stops (bounded by the watch's deadline)
    finally:
        stack.stop()

    events = read_events(events_path)
    print(
        f"\nscenario {args.scenario}: {args.users} rep sessions over {args.reps} reps at {args.call_rate}/s each "
        f"(Today reloaded every {args.today_every} calls), {args.duration} s; "
        f"gunicorn {args.web_workers} x {args.worker_class or 'gunicorn.conf.py'}"
        + (f" ({args.threads} threads)" if args.threads else "")
        + f", celery concurrency {args.celery_concurrency}; load average {load_before[0]:.2f} -> {load_after[0]:.2f}"
    )
    first = started + args.warmup
    if watch and watch.running_at:
        job = ImportJob.objects.get(pk=job_id)
        import_end = min(watch.finished_at or ended, ended)
        print(
            f"import: {job.rows_total:,} rows, {job.status}, {(watch.finished_at or ended) - watch.running_at:.1f} s "
            f"after it started ({job.created_count:,} created, {job.merged_count:,} merged, {job.error_count:,} errors)"
            + ("" if watch.finished_at and watch.finished_at <= ended else "; still running when the load ended")
        )
        print("\n".join(phase_table("Before the import (load only)", events, first, watch.running_at)))
        print("\n".join(phase_table("While the import runs", events, watch.running_at, import_end)))
    print("\n".join(phase_table("Whole run (after warm-up)", events, first, ended)))
    posted = sum(1 for _, name, _, error in events if name in POSTS and not error)
    print(f"\ncalls saved during the run: {calls_saved:,} (successful call-log POSTs: {posted:,})")
    failures = Counter(f"{name}: {error}" for _, name, _, error in events if error)
    for text, count in failures.most_common(5):
        print(f"  error x{count}: {text}")

    print(
        f"\n| process | RSS start MB | after {args.warmup} s warm-up | RSS end MB | end - warm-up | RSS peak MB |"
        "\n|---|---|---|---|---|---|"
    )
    for name in usage.rss_start:
        warm = usage.rss_warm.get(name, usage.rss_start[name])
        print(
            f"| {name} | {usage.rss_start[name] / 1048576:.0f} | {warm / 1048576:.0f} | "
            f"{usage.rss_end[name] / 1048576:.0f} | {(usage.rss_end[name] - warm) / 1048576:+.1f} | "
            f"{usage.rss_peak[name] / 1048576:.0f} |"
        )
    served = sum(1 for at, _, _, _ in events if started <= at <= ended)  # the CPU is counted over the whole run
    stack_cpu = sum(seconds for group, seconds in usage.cpu_by_group().items() if group != "locust (load generator)")
    print(
        f"\nstack CPU (web, Celery, PostgreSQL, Redis; the import included) per request served: {stack_cpu / max(served, 1) * 1000:.1f} ms"
    )
    busy, available = usage.busy_seconds()
    print(f"\nCPU over the run: {busy:.0f} of {available:.0f} CPU-seconds busy ({busy / available:.0%} of the cores)")
    print("| process group | CPU s | share of busy |\n|---|---|---|")
    for group, seconds in sorted(usage.cpu_by_group().items(), key=lambda item: -item[1]):
        print(f"| {group} | {seconds:.1f} | {seconds / busy:.0%} |")
    print(f"\nactive PostgreSQL backends of this database, on average over {usage.samples} samples (1 per second):")
    for what, count in usage.waits.most_common(6):
        print(f"  {count / max(usage.samples, 1):.2f}  {what}")

    if watch and watch.finished_at:
        from leads import import_services

        job = ImportJob.objects.get(pk=job_id)
        if job.status == ImportJob.Status.DONE:
            report = import_services.import_job_undo(job=job, actor=people["admin"])
            print(f"\nundid the import: removed {report['removed']:,} leads, kept {report['kept']:,}")


if __name__ == "__main__":
    main()
