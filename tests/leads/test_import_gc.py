"""An import runs with Python's cyclic garbage collector woken less often, and puts its thresholds back."""

from __future__ import annotations

import gc
import io
import pickle
import types

import pytest

from leads import import_reader, import_services, importing
from tests.leads.test_import_services import options_for, run, write_csv

pytestmark = pytest.mark.django_db


@pytest.fixture
def judged_at(monkeypatch):
    """The collector's first threshold each time a row was judged."""
    seen = []
    judge = importing.RowJudge.__call__

    def recording(self, cells):
        seen.append(gc.get_threshold()[0])
        return judge(self, cells)

    monkeypatch.setattr(importing.RowJudge, "__call__", recording)
    return seen


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


def a_list(tmp_path):
    return write_csv(tmp_path, [["Name", "Email"]] + [[f"P {n}", f"p{n}@example.com"] for n in range(30)])


def test_fewer_collections_raises_the_first_threshold_and_puts_all_back_even_on_failure():
    before = gc.get_threshold()
    with importing.fewer_collections():
        assert gc.get_threshold() == (importing.IMPORT_GC_THRESHOLD, *before[1:])
    assert gc.get_threshold() == before
    with pytest.raises(ZeroDivisionError), importing.fewer_collections():
        1 / 0  # noqa: B018
    assert gc.get_threshold() == before


def test_an_import_judges_its_rows_with_fewer_collections(tmp_path, judged_at):
    before = gc.get_threshold()
    _, report = run(a_list(tmp_path))
    assert report.created == 30
    assert judged_at and set(judged_at) == {importing.IMPORT_GC_THRESHOLD}
    assert gc.get_threshold() == before


def test_a_dry_run_judges_its_rows_with_fewer_collections(tmp_path, judged_at):
    path = a_list(tmp_path)
    report = import_services.import_dry_run(path=path, file_name=path.name, options=options_for(path))
    assert report.created == 30
    assert judged_at and set(judged_at) == {importing.IMPORT_GC_THRESHOLD}


def test_the_reader_process_judges_with_fewer_collections(tmp_path, judged_at, monkeypatch):
    """The child's own `main`, run in this process on the same pipe protocol."""
    path = a_list(tmp_path)
    config = {
        "path": str(path),
        "file_name": path.name,
        "mapping": options_for(path).mapping,
        "region": "US",
        "limits": import_services.lead_limits(),
        "skip": 0,
        "batch_size": 10,
    }
    out = io.BytesIO()
    monkeypatch.setattr("sys.stdin", types.SimpleNamespace(buffer=io.BytesIO(pickle.dumps(config))))
    monkeypatch.setattr("sys.stdout", types.SimpleNamespace(buffer=out))
    before = gc.get_threshold()
    import_reader.main()
    assert len(judged_at) == 30 and set(judged_at) == {importing.IMPORT_GC_THRESHOLD}
    assert gc.get_threshold() == before
    out.seek(0)
    kinds = []
    while True:
        try:
            kinds.append(pickle.load(out)[0])  # noqa: S301 # what main just wrote
        except EOFError:
            break
    assert kinds == ["chunk"] * 3 + ["end"]
