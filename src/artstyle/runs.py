"""Run directories and crash-safe file writes.

Usage::

    run = create_run("classify", name="resnet-resample")   # runs/classify/20261128-140000-resnet-resample/
    write_json(run / "config.json", asdict(cfg))
    append_jsonl(run / "metrics.jsonl", {"epoch": 1, "loss": 0.3})
    save_safetensors(run / "model.safetensors", model.state_dict(), {"arch": "resnet"})

Every write goes to a temporary file in the same directory and is then renamed over the target, so a
killed process leaves either the old file or the new one, never half of one.
"""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from artstyle.errors import ArtstyleError

DEFAULT_RUNS_ROOT = Path("runs")

INVOCATION: list[str] | None = None
"""The command line of this process when it is the ``artstyle`` CLI (set by ``cli.main``); None from Python."""


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)  # reading the umask means setting it; put it straight back
    return mask


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; on success it is fsynced and renamed onto ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    os.chmod(tmp_path, 0o666 & ~_umask())  # mkstemp creates 0600; give the file the mode a plain open() would
    try:
        yield tmp_path
        with open(tmp_path, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Atomically write ``data`` to ``path``."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def write_text(path: str | os.PathLike, text: str) -> Path:
    """Atomically write UTF-8 ``text`` to ``path``."""
    return write_bytes(path, text.encode("utf-8"))


def _json_default(obj: Any) -> Any:
    if isinstance(obj, Path):
        return str(obj)
    if hasattr(obj, "tolist"):
        return obj.tolist()
    if hasattr(obj, "item"):
        return obj.item()
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def write_json(path: str | os.PathLike, obj: Any) -> Path:
    """Atomically write ``obj`` as indented JSON."""
    return write_text(path, json.dumps(obj, indent=2, default=_json_default) + "\n")


def read_json(path: str | os.PathLike) -> Any:
    """Read JSON, turning a missing or corrupt file into an :class:`ArtstyleError` naming it."""
    path = Path(path)
    if not path.is_file():
        raise ArtstyleError(f"{path} does not exist; is this a complete artstyle run or cache directory?")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ArtstyleError(f"{path} is not valid JSON ({exc}); the file is corrupted, re-create it") from None


def append_jsonl(path: str | os.PathLike, record: dict) -> None:
    """Append one JSON line and fsync it: O(1) per line, so a long LoRA run's log stays cheap.

    A kill mid-write can leave a torn last line; :func:`read_jsonl` drops it. A file whose last line was torn
    gets a newline first, so the new record starts on a line of its own.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    line = (json.dumps(record, default=_json_default) + "\n").encode("utf-8")
    with open(path, "ab+") as fh:
        if fh.tell() > 0:
            fh.seek(-1, os.SEEK_END)
            if fh.read(1) != b"\n":
                line = b"\n" + line
        fh.write(line)
        fh.flush()
        os.fsync(fh.fileno())


def read_jsonl(path: str | os.PathLike) -> list[dict]:
    """All records of a JSON-lines file (empty list when missing); a torn line left by a kill is dropped."""
    path = Path(path)
    if not path.exists():
        return []
    records = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            continue  # only a line cut short by a kill can be invalid: every line is written whole by append_jsonl
    return records


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-") or "run"


_READ_ONLY = (errno.EACCES, errno.EPERM, errno.EROFS)


def not_writable(folder: str | os.PathLike, exc: OSError) -> ArtstyleError:
    """The one-line error for a run folder that cannot be written (read-only file system, no permission)."""
    return ArtstyleError(f"run folder {folder} is not writable ({exc.strerror or exc}); pass --out with a writable "
                         "folder, or set ARTSTYLE_RUNS to one")


def create_run(stage: str, name: str = "run", root: str | os.PathLike | None = None) -> Path:
    """Create and return a fresh ``<root>/<stage>/<yyyymmdd-hhmmss>-<name>/`` with a ``figures/`` folder.

    Never reuses an existing directory: concurrent or same-second runs get a ``-2``, ``-3`` suffix
    (``mkdir`` without ``exist_ok`` is atomic, so two processes cannot both claim one name).
    """
    base = Path(root if root is not None else os.environ.get("ARTSTYLE_RUNS", DEFAULT_RUNS_ROOT)) / stage
    stem = f"{time.strftime('%Y%m%d-%H%M%S')}-{_slug(name)}"
    try:
        base.mkdir(parents=True, exist_ok=True)
        for i in range(1, 10_000):
            run = base / (stem if i == 1 else f"{stem}-{i}")
            try:
                run.mkdir()
            except FileExistsError:
                continue
            (run / "figures").mkdir()
            return run
    except OSError as exc:
        if exc.errno in _READ_ONLY:
            raise not_writable(base, exc) from None
        raise
    raise ArtstyleError(f"could not create a run directory under {base}")


def prepare_run_dir(out: str | os.PathLike, overwrite: bool = False) -> Path:
    """Use an explicit run directory ``out``; refuse to reuse a non-empty one unless ``overwrite``."""
    out = Path(out)
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise ArtstyleError(f"run directory {out} already exists; pass --overwrite or choose another --out")
    if overwrite and (out / "config.json").is_file():
        # An earlier artstyle run: its checkpoints, resume state and metrics lines would otherwise be taken
        # for the new run's (a later --resume would continue the old run). A folder that is not a run is
        # written into but never emptied.
        for child in out.iterdir():
            shutil.rmtree(child) if child.is_dir() and not child.is_symlink() else child.unlink()
    try:
        out.mkdir(parents=True, exist_ok=True)
        # mkdir is atomic: of two runs started at once with the same --out, only one creates figures/.
        (out / "figures").mkdir(exist_ok=overwrite)
    except FileExistsError:
        raise ArtstyleError(f"run directory {out} was just claimed by another run; choose another --out") from None
    except OSError as exc:
        if exc.errno in _READ_ONLY:
            raise not_writable(out, exc) from None
        raise
    return out


def save_safetensors(path: str | os.PathLike, tensors: dict, metadata: dict[str, str] | None = None) -> Path:
    """Atomically save a dict of tensors as safetensors (contiguous CPU copies)."""
    from safetensors.torch import save_file

    tensors = {k: v.detach().cpu().contiguous() for k, v in tensors.items()}
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata=metadata)
    return Path(path)


@contextmanager
def _safetensors_errors(path: Path) -> Iterator[None]:
    """Turn a missing, truncated or tampered safetensors file into one clear :class:`ArtstyleError`."""
    from safetensors import SafetensorError

    if not path.is_file():
        raise ArtstyleError(f"weights file {path} does not exist")
    try:
        yield
    except (SafetensorError, OSError, ValueError) as exc:
        raise ArtstyleError(f"{path} is not a valid safetensors file ({exc}); it is corrupted or truncated") from None


def load_safetensors(path: str | os.PathLike) -> dict:
    """Load a safetensors file to CPU, with a clear error for a missing, truncated or tampered file."""
    from safetensors.torch import load_file

    path = Path(path)
    with _safetensors_errors(path):
        return load_file(str(path), device="cpu")


def safetensors_metadata(path: str | os.PathLike) -> dict[str, str]:
    """The string metadata in a safetensors file's header (empty without any), with :func:`load_safetensors`'s
    clear error for a missing or damaged file."""
    from safetensors import safe_open

    path = Path(path)
    with _safetensors_errors(path), safe_open(str(path), "pt") as f:
        return dict(f.metadata() or {})


def load_weights(model: Any, path: str | os.PathLike, tensors: dict | None = None) -> Any:
    """Load the safetensors file ``path`` (or ``tensors`` already read from it) into ``model`` (returned), in eval
    mode.

    A file whose tensors do not fit the architecture built from config.json is a clear error, not a traceback.
    """
    try:
        model.load_state_dict(load_safetensors(path) if tensors is None else tensors)
    except RuntimeError as exc:
        raise ArtstyleError(f"{path} does not match the architecture in config.json ({str(exc).splitlines()[0]}); "
                            "the checkpoint was tampered with or is from another run") from None
    return model.eval()


def write_config(run: str | os.PathLike, stage: str, command: str, payload: dict[str, Any]) -> Path:
    """Write ``run/config.json``: the run's ``stage``, the ``command`` that reproduces it, and ``payload``.

    ``stage`` names what made the run (the list is in architecture.md), so a reader never infers it from which
    files exist. ``command`` is the ``artstyle`` command line that reproduces this run on its own (built from the
    resolved config); ``argv`` records what was actually typed when the CLI made it (a pipeline's stages carry
    the pipeline's command line there).
    """
    import shlex

    argv = shlex.join(["artstyle", *INVOCATION]) if INVOCATION is not None else None
    return write_json(Path(run) / "config.json", {"stage": stage, "command": command, "argv": argv, **payload})


def run_stage(run: str | os.PathLike) -> tuple[str | None, str | None]:
    """``(stage, command)`` recorded in ``run/config.json``; ``(None, None)`` for runs written before they were."""
    path = Path(run) / "config.json"
    if not path.is_file():
        return None, None
    c = read_json(path)
    return (c.get("stage"), c.get("command")) if isinstance(c, dict) else (None, None)


def find_run(path: str | os.PathLike, required: str = "config.json") -> Path:
    """Validate a run directory given by the user; the error says what is missing."""
    path = Path(path)
    if not path.is_dir():
        raise ArtstyleError(f"run directory {path} does not exist")
    if not (path / required).is_file():
        raise ArtstyleError(f"{path} is not an artstyle run: {required} is missing")
    return path
