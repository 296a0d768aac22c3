"""Hostile states (issue 16): a damaged cache, a source changed under its cache, two `artstyle run` on one
--out, a read-only runs folder. Each gets a clear one-line error or a correct recovery."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from artstyle.data.cache import load_cache, open_cache, prepare_cache
from artstyle.errors import ArtstyleError
from artstyle.runs import create_run, prepare_run_dir
from conftest import make_folder, write_image
from test_reliability import assert_one_line_error, run_cli


def _prepare(root: Path, **kw):  # noqa: ANN003, ANN202
    return prepare_cache(str(root), size=16, workers=1, progress=False, **kw)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return make_folder(tmp_path / "paintings", {"Baroque": 4, "Pop_Art": 3}, size=20)


# ---------------------------------------------------------------- a damaged cache


@pytest.mark.parametrize("damage", ["truncate", "delete"])
def test_damaged_images_are_rebuilt_from_the_source(folder: Path, damage: str, capsys: pytest.CaptureFixture) -> None:
    first = _prepare(folder)
    pixels = np.array(first.images)
    images = first.root / "images.u8"
    if damage == "truncate":
        os.truncate(images, images.stat().st_size // 2)
    else:
        images.unlink()
    capsys.readouterr()
    again = _prepare(folder)
    err = capsys.readouterr().err
    assert "damaged" in err and "images.u8" in err and "rebuilding" in err, err
    assert again.root == first.root and images.stat().st_size == pixels.nbytes
    np.testing.assert_array_equal(np.array(again.images), pixels)


def test_damaged_cache_given_explicitly_is_an_error_naming_the_file(folder: Path, tmp_path: Path) -> None:
    cache = _prepare(folder, out=tmp_path / "c")
    os.truncate(cache.root / "images.u8", 100)
    with pytest.raises(ArtstyleError, match=r"images\.u8.*--overwrite"):
        load_cache(cache.root)
    (cache.root / "images.u8").unlink()
    with pytest.raises(ArtstyleError, match=r"images\.u8 is missing.*--overwrite"):
        load_cache(cache.root)


def test_index_cut_short_is_not_read_as_valid(folder: Path, tmp_path: Path) -> None:
    cache = _prepare(folder, out=tmp_path / "c")
    lines = (cache.root / "index.jsonl").read_text().splitlines(keepends=True)
    (cache.root / "index.jsonl").write_text("".join(lines[:-2]))  # labels would shift against the pixels
    with pytest.raises(ArtstyleError, match=r"index\.jsonl"):
        load_cache(cache.root)


def test_images_truncated_after_opening_are_never_mapped(folder: Path) -> None:
    cache = _prepare(folder)
    os.truncate(cache.root / "images.u8", 16 * 16 * 3)  # one row left: a memmap would fail or read garbage
    with pytest.raises(ArtstyleError, match=r"images\.u8"):
        cache.images  # noqa: B018 - first access maps the file


# ---------------------------------------------------------------- a source changed after its cache was built


def test_added_removed_and_changed_files_make_a_new_cache(folder: Path, capsys: pytest.CaptureFixture) -> None:
    first = _prepare(folder)
    n = len(first.labels)
    write_image(folder / "train" / "Baroque" / "new.png", (250, 250, 250), size=(20, 20))
    capsys.readouterr()
    added = _prepare(folder)
    assert len(added.labels) == n + 1 and added.root != first.root
    assert "1 added" in capsys.readouterr().err

    (folder / "train" / "Pop_Art" / "0.png").unlink()
    (folder / "train" / "Pop_Art" / "1.png").unlink()
    removed = _prepare(folder)
    assert len(removed.labels) == n - 1
    assert "2 removed" in capsys.readouterr().err

    target = folder / "train" / "Baroque" / "new.png"
    write_image(target, (0, 0, 0), size=(20, 20))  # same size in bytes, maybe the same mtime tick: force it on
    os.utime(target, ns=(target.stat().st_atime_ns, target.stat().st_mtime_ns + 10**9))
    changed = _prepare(folder)
    row = [r["key"] for r in changed.index].index("train/Baroque/new.png")
    assert changed.images[row].max() == 0  # the new pixels, not the cached white ones
    assert "changed" in capsys.readouterr().err


def test_explicit_out_of_a_changed_source_is_rebuilt_and_says_so(folder: Path, tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture) -> None:
    first = _prepare(folder, out=tmp_path / "c")
    (folder / "train" / "Baroque" / "0.png").unlink()
    capsys.readouterr()
    again = _prepare(folder, out=tmp_path / "c")
    assert len(again.labels) == len(first.labels) - 1
    err = capsys.readouterr().err
    assert "1 removed" in err and "rebuilding" in err and str(tmp_path / "c") in err, err


def test_cache_option_refuses_a_cache_whose_source_changed(folder: Path, tmp_path: Path) -> None:
    cache = _prepare(folder, out=tmp_path / "c")
    cfg = SimpleNamespace(cache=str(cache.root), size=16, data="", progress=False)
    assert len(open_cache(cfg).labels) == len(cache.labels)  # unchanged: accepted
    write_image(folder / "train" / "Baroque" / "extra.png", (1, 2, 3), size=(20, 20))
    with pytest.raises(ArtstyleError, match=r"changed since.*1 added.*--overwrite"):
        open_cache(cfg)


# ---------------------------------------------------------------- two `artstyle run` on one --out

_HOLDER = textwrap.dedent("""
    import sys
    from artstyle.pipeline.config import PipelineConfig
    from artstyle.pipeline.state import open_pipeline
    open_pipeline(PipelineConfig(profile="tiny", out=sys.argv[1], progress=False))
    print("claimed", flush=True)
    sys.stdin.read()  # hold the pipeline until the test closes stdin
""")


def test_second_run_on_the_same_out_fails_while_the_first_holds_it(tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture) -> None:
    from artstyle.pipeline.config import PipelineConfig
    from artstyle.pipeline.state import open_pipeline, release_pipeline

    pipe = tmp_path / "pipe"
    first = subprocess.Popen([sys.executable, "-c", _HOLDER, str(pipe)], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
    try:
        assert first.stdout.readline().strip() == "claimed"  # the first run holds --out: no timing involved
        code, output = run_cli(["run", "--profile", "tiny", "--out", str(pipe), "--no-progress"], capsys)
        assert_one_line_error(code, output, str(pipe), "another `artstyle run`", f"pid {first.pid}")
        assert not (pipe / "pipeline.json").exists() or "stages" in (pipe / "pipeline.json").read_text()
    finally:
        first.stdin.close()
        first.wait(timeout=60)
    # The first one is gone (its lock went with it): the directory can be used again.
    run, _, _ = open_pipeline(PipelineConfig(profile="tiny", out=str(pipe), progress=False))
    assert run == pipe
    release_pipeline(run)


# ---------------------------------------------------------------- a read-only runs folder


def _make_read_only(folder: Path, monkeypatch: pytest.MonkeyPatch, err: int = errno.EACCES) -> None:
    """chmod 0o555; where that does not bite (root), refuse creating anything under ``folder`` instead."""
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o555)
    if not os.access(folder, os.W_OK):
        return
    real_mkdir, real_open = os.mkdir, os.open
    inside = lambda p: Path(os.fspath(p)).resolve().is_relative_to(folder.resolve())  # noqa: E731

    def mkdir(path, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        if inside(path) and not Path(os.fspath(path)).exists():
            raise OSError(err, os.strerror(err), os.fspath(path))
        return real_mkdir(path, *args, **kwargs)

    def open_(path, flags, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        if inside(path) and flags & os.O_CREAT:
            raise OSError(err, os.strerror(err), os.fspath(path))
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "mkdir", mkdir)
    monkeypatch.setattr(os, "open", open_)


@pytest.mark.parametrize("err", [errno.EACCES, errno.EROFS])
def test_read_only_runs_folder_is_one_line_saying_what_to_do(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                            capsys: pytest.CaptureFixture, err: int) -> None:
    runs = tmp_path / "runs"
    try:
        _make_read_only(runs, monkeypatch, err)
        code, output = run_cli(["run", "--profile", "tiny", "--no-progress"], capsys)
        assert_one_line_error(code, output, str(runs), "--out", "ARTSTYLE_RUNS")
        with pytest.raises(ArtstyleError, match=r"not writable.*--out"):
            create_run("classify", "x")
        with pytest.raises(ArtstyleError, match=r"not writable.*--out"):
            prepare_run_dir(runs / "mine")
        code, output = run_cli(["run", "--profile", "tiny", "--out", str(runs / "p"), "--no-progress"], capsys)
        assert_one_line_error(code, output, str(runs / "p"), "--out")
    finally:
        os.chmod(runs, 0o755)


def test_read_only_cache_folder_is_one_line_saying_what_to_do(folder: Path, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    cache_dir = tmp_path / "artstyle-cache"
    try:
        _make_read_only(cache_dir, monkeypatch, errno.EROFS)
        with pytest.raises(ArtstyleError, match=r"not writable.*ARTSTYLE_CACHE.*--out"):
            _prepare(folder)
    finally:
        os.chmod(cache_dir, 0o755)


def test_refusing_a_users_folder_leaves_no_lock_file_in_it(tmp_path: Path) -> None:
    from artstyle.pipeline.config import PipelineConfig
    from artstyle.pipeline.state import open_pipeline

    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("mine")
    with pytest.raises(ArtstyleError, match="not an artstyle pipeline directory"):
        open_pipeline(PipelineConfig(profile="tiny", out=str(mine), progress=False))
    assert [p.name for p in mine.iterdir()] == ["notes.txt"]
