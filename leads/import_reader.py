"""Reading and judging an import file in a process of its own, so that it runs on a core of its own.

Judging rows (phone and e-mail validation) and parsing the file are an import's biggest Python cost. In a
thread they share the job's GIL with the writer, which then waits for the GIL each time PostgreSQL answers;
in a child process they take none of it. Both sides of the exchange live here: `JudgedBatches` (the job's
side) starts `python -m leads.import_reader`, sends it what it needs once, and reads back pickled batches;
`main` (the child's side) reads the file with `leads.importing`, pure code that needs no Django setup.

Only our own child writes the pickles we load: it is the same code, started by us, on a pipe nobody else holds.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import pickle  # nosec B403 # our own child process on our own pipe (see the module docstring)
import queue
import subprocess  # nosec B404 # a fixed command line: this interpreter and this module
import sys
import threading
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, BinaryIO

from . import importing

_JudgedBatch = list[importing.JudgedRow]
_PROJECT = Path(__file__).resolve().parent.parent
# The child judges and sends this many rows at a time (the job gathers them into its batches): its memory is
# one chunk's, 54 MB peak against 73 MB for whole batches of 10,000 rows.
CHUNK_ROWS = 2_000
# The first batch is one chunk: the job's writers start on it while the child judges the rest, instead of waiting
# for a whole batch to be judged before anything is written.
FIRST_BATCH_ROWS = CHUNK_ROWS


class ReaderFailed(RuntimeError):
    """The child stopped without finishing (killed, out of memory): the import fails and can be re-run."""


class JudgedBatches:
    """Batches of `importing.JudgedRow`s from the child process, received up to AHEAD chunks ahead (the cells of
    error rows only: the error file is all that reads them).

    A thread unpickles the child's chunks as they come (plain tuples and dicts, loaded in C and used as they
    are), so the child never waits for the writer (it would block on a full pipe) and the writer's thread, the
    job's critical path, only gathers them; `position` is how far into the file (bytes) the last batch handed
    out reaches.
    """

    AHEAD = 15  # chunks: three batches of 10,000 rows

    def __init__(
        self,
        *,
        path: Path | str,
        file_name: str,
        mapping: Sequence[str],
        region: str,
        limits: Mapping[str, int | None],
        skip: int,
        batch_size: int,
    ) -> None:
        self.position = 0
        self._done = self._finished = self._handed_out = False
        self._errors = b""
        self._batch_size = batch_size
        self._carry: _JudgedBatch = []
        self._process = subprocess.Popen(  # nosec B603 # no shell, no user input in the command line
            [sys.executable, "-m", "leads.import_reader"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=_PROJECT,
        )
        assert self._process.stdin is not None and self._process.stdout is not None
        config = {
            "path": os.path.abspath(path),
            "file_name": file_name,
            "mapping": list(mapping),
            "region": region,
            "limits": dict(limits),
            "skip": skip,
            "batch_size": batch_size,
        }
        with contextlib.suppress(BrokenPipeError):  # it died at once: the receiving thread's first read says why
            pickle.dump(config, self._process.stdin, protocol=pickle.HIGHEST_PROTOCOL)
            self._process.stdin.close()
        self._stdout: BinaryIO = self._process.stdout
        self._messages: queue.Queue[tuple[str, Any, int]] = queue.Queue(maxsize=self.AHEAD)
        self._stop = threading.Event()
        self._receiver = threading.Thread(target=self._receive, name="import-reader", daemon=True)
        self._receiver.start()

    def _receive(self) -> None:
        while not self._stop.is_set():
            try:
                message = pickle.load(self._stdout)  # nosec B301 # our own child, see the module docstring
            except (EOFError, pickle.UnpicklingError, OSError, ValueError):
                message = ("stopped", None, 0)
            while not self._stop.is_set():
                try:
                    self._messages.put(message, timeout=0.1)
                    break
                except queue.Full:
                    continue
            if message[0] != "chunk":
                return

    def __iter__(self) -> Iterator[_JudgedBatch]:
        return self

    def __next__(self) -> _JudgedBatch:
        """The next `batch_size` rows, gathered from the child's chunks. A failure anywhere in a batch fails the
        whole batch, as with the thread: the rows of its earlier chunks are not handed out."""
        if self._done:
            raise StopIteration
        batch, self._carry = self._carry, []  # a chunk's rows past the previous batch's size
        size = self._batch_size if self._handed_out else min(self._batch_size, FIRST_BATCH_ROWS)
        self._handed_out = True
        while len(batch) < size:
            kind, value, position = self._messages.get()
            if kind != "chunk":
                break
            batch += value
            self.position = position
        else:
            batch, self._carry = batch[:size], batch[size:]
            return batch
        self._done = True
        if kind == "stopped":
            raise ReaderFailed(f"The file reader stopped before the end of the file: {self._stderr()}")
        if kind == "error":
            raise value
        self._finished = True  # "end": the child exits on its own
        if batch:
            return batch
        raise StopIteration

    def _stderr(self) -> str:
        """The child's last line on stderr (its traceback's message), once it has been stopped."""
        self.close()
        lines = self._errors.decode("utf-8", "replace").strip().splitlines()
        return lines[-1] if lines else f"exit status {self._process.returncode}"

    def close(self) -> None:
        """Stop the child (early, on a failure) and the thread, and collect both."""
        self._done = True
        self._stop.set()
        if self._process.returncode is not None:
            return
        if not self._finished:
            self._process.kill()  # its pipe closes: the thread's read ends
        self._receiver.join(timeout=5)
        self._stdout.close()
        assert self._process.stderr is not None
        self._errors = self._process.stderr.read()
        self._process.stderr.close()
        self._process.wait()


def _send(out: BinaryIO, kind: str, value: Any, position: int) -> None:
    pickle.dump((kind, value, position), out, protocol=pickle.HIGHEST_PROTOCOL)
    out.flush()


def main() -> None:
    """The child: read the config, then write one pickled chunk of rows at a time until the end of the file."""
    config = pickle.load(sys.stdin.buffer)  # nosec B301 # from our parent, see above
    out = sys.stdout.buffer
    judge = importing.RowJudge(config["mapping"], region=config["region"], limits=config["limits"])
    size = min(config["batch_size"], CHUNK_ROWS)
    try:
        with importing.fewer_collections(), open(config["path"], "rb") as stream:
            table = importing.read_table(stream, file_name=config["file_name"])
            rows = itertools.islice(table.rows, config["skip"], None)
            while chunk := list(itertools.islice(rows, size)):
                _send(out, "chunk", judge.judged(chunk), stream.tell())
        _send(out, "end", None, 0)
    except BrokenPipeError:  # the job stopped reading (it failed or was killed): nothing left to do
        return
    except Exception as exc:  # the file cannot be read further: the job raises it after its last good batch
        try:
            pickle.dumps(exc)
        except Exception:
            exc = importing.UnreadableFile(str(exc))
        _send(out, "error", exc, 0)


if __name__ == "__main__":
    main()
