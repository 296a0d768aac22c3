"""Where images come from, behind one small interface.

Usage::

    src = open_source("builtin")                  # or "/data/wikiart", "hf:huggan/wikiart", "x.parquet"
    for item in src.items: ...                    # Item(key, label, split, ...)
    data = src.read_bytes(item)                    # encoded image bytes
    src.skipped                                    # [(key, reason)] for files found but not usable

A source spec (``--data``) may be:

- ``builtin`` or ``builtin:<scale>``: artstyle's procedurally painted stand-in for WikiArt (synthetic);
- an image-folder root, ``ROOT/{train,test}/<Style>/*`` (a validation split is carved from train) or
  flat ``ROOT/<Style>/*`` (validation and test splits are carved out);
- ``hf:<hub id>`` (e.g. ``hf:huggan/wikiart``), a ``save_to_disk`` dataset directory, or parquet
  file(s)/directories in the huggan/wikiart schema (``image`` plus ClassLabel ``style``/``genre``/``artist``).

Carved splits are deterministic, stratified and seeded: an item's split depends only on the seed, its
class and its key, never on file-system order or ``PYTHONHASHSEED``.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from artstyle.constants import IMAGE_EXTENSIONS, SPLITS, SYNTHETIC_MARKER
from artstyle.errors import ArtstyleError
from artstyle.styles import canonical_style



@dataclass(frozen=True)
class Item:
    key: str
    """Unique id within the source: the path relative to the root (``train/Baroque/a.jpg``) or ``row:<i>``."""
    label: str
    """Class name, canonicalised for WikiArt styles (``Art_Nouveau`` -> ``Art_Nouveau_Modern``)."""
    split: str
    """``train``, ``val`` or ``test``."""
    path: str | None = None
    """Absolute file path for file sources."""
    row: int | None = None
    """Row index for Hugging Face sources."""
    extra: tuple[tuple[str, str], ...] = ()
    """Other attributes as (name, value) pairs, e.g. ``(("artist", "claude-monet"), ("genre", "landscape"))``."""


@dataclass
class Source:
    """A listed dataset: items with splits and labels, the files that were skipped, and a byte reader."""

    spec: str
    items: list[Item]
    skipped: list[tuple[str, str]]
    synthetic: bool
    fingerprint: str
    label_column: str = "style"
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def classes(self) -> list[str]:
        """The label map: sorted class names (never a set's iteration order)."""
        return sorted({item.label for item in self.items})

    def read_bytes(self, item: Item) -> bytes:
        if item.path is not None:
            with open(item.path, "rb") as fh:
                return fh.read()
        return _hf_row_bytes(self, item.row)


def class_name(raw: str) -> str:
    """Canonical class name: WikiArt aliases map to the folder name, other names are kept as they are."""
    return canonical_style(raw) or raw


def _split_rank(seed: int, label: str, key: str) -> str:
    return hashlib.sha1(f"{seed}\0{label}\0{key}".encode()).hexdigest()


def assign_splits(keys_by_label: dict[str, list[str]], fractions: dict[str, float], seed: int) -> dict[str, str]:
    """Stratified, seeded split: within each class, order keys by a seeded hash and cut by ``fractions``.

    ``fractions`` maps carved splits to fractions (e.g. ``{"test": 0.1, "val": 0.1}``); the rest is train.
    A class with at least 3 items gets at least one item in each carved split, so small styles are
    still evaluated; smaller classes stay in train.
    """
    out: dict[str, str] = {}
    for label, keys in keys_by_label.items():
        ordered = sorted(keys, key=lambda k: _split_rank(seed, label, k))
        n, start = len(ordered), 0
        for split, frac in fractions.items():
            take = int(round(n * frac))
            if take == 0 and n >= 3 and frac > 0:
                take = 1
            take = min(take, max(0, n - start - 1))  # always leave one for train
            for k in ordered[start:start + take]:
                out[k] = split
            start += take
        for k in ordered[start:]:
            out[k] = "train"
    return out


def open_source(spec: str | os.PathLike = "builtin", *, label_column: str = "style", val_fraction: float = 0.1,
                test_fraction: float = 0.1, seed: int = 0) -> Source:
    """List the items of the dataset named by ``spec`` (see the module docstring)."""
    spec = str(spec)
    options = {"label_column": label_column, "val_fraction": val_fraction, "test_fraction": test_fraction, "seed": seed}
    if spec == "builtin" or spec.startswith("builtin:"):
        root = ensure_builtin(spec)
        return _open_folder(root, spec, options)
    if spec.startswith("hf:"):
        return _open_hf(spec, options)
    path = Path(spec).expanduser()
    if not path.exists():
        raise ArtstyleError(f"--data {spec}: no such file or directory; give an image-folder root, "
                            "a parquet file, a Hugging Face dataset directory, hf:<hub id>, or 'builtin'")
    if path.suffix == ".parquet" or (path.is_dir() and _looks_like_hf_dir(path)):
        return _open_hf(spec, options)
    if not path.is_dir():
        raise ArtstyleError(f"--data {spec} is a file but not a .parquet file; give an image-folder root instead")
    return _open_folder(path, spec, options)


def current_source(spec: str, options: dict[str, Any]) -> Source | None:
    """The image folder behind ``spec`` listed again now, to compare with a cache's fingerprint.

    None when that cannot be done cheaply: a Hugging Face dataset, a folder that is gone (a cache outlives
    its source by design), or a built-in dataset not painted on this machine.
    """
    if spec == "builtin" or spec.startswith("builtin:"):
        root = builtin_root(spec)
        if not (root / SYNTHETIC_MARKER).is_file():
            return None
    else:
        root = Path(spec).expanduser()
        if spec.startswith("hf:") or not root.is_dir() or _looks_like_hf_dir(root):
            return None
    defaults = {"label_column": "style", "val_fraction": 0.1, "test_fraction": 0.1, "seed": 0}
    return _open_folder(root, spec, {**defaults, **options})


# --------------------------------------------------------------------------- built-in dataset


def cache_root() -> Path:
    """artstyle's user cache directory: ``$ARTSTYLE_CACHE``, else ``$XDG_CACHE_HOME/artstyle`` or ``~/.cache/artstyle``."""
    if os.environ.get("ARTSTYLE_CACHE"):
        return Path(os.environ["ARTSTYLE_CACHE"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "artstyle"


BUILTIN_SIZE = 128
"""Pixel size at which the built-in dataset is painted (the cache may resize it)."""


def parse_builtin(spec: str) -> float:
    """The scale in ``builtin[:scale]`` (1.0 = the course copy's 13,350 train images)."""
    _, _, arg = spec.partition(":")
    if not arg:
        return 1.0
    try:
        scale = float(arg)
    except ValueError:
        raise ArtstyleError(f"--data {spec}: expected builtin or builtin:<scale>, e.g. builtin:0.1") from None
    if not 0 < scale <= 20:
        raise ArtstyleError(f"--data {spec}: the scale must be in (0, 20]")
    return scale


def builtin_root(spec: str = "builtin", seed: int = 0) -> Path:
    """Where the built-in dataset ``spec`` is (or would be) painted in the user cache."""
    from artstyle.data.synth import SYNTH_VERSION

    return cache_root() / "builtin" / f"v{SYNTH_VERSION}-scale{parse_builtin(spec):g}-px{BUILTIN_SIZE}-seed{seed}"


def ensure_builtin(spec: str = "builtin", seed: int = 0) -> Path:
    """Paint the built-in dataset into the user cache once and return its root (reused afterwards)."""
    from artstyle.data.synth import write_builtin

    scale = parse_builtin(spec)
    root = builtin_root(spec, seed)
    if not (root / SYNTHETIC_MARKER).is_file():  # the marker is written last: its absence means incomplete
        write_builtin(root, scale=scale, size=BUILTIN_SIZE, seed=seed)
    return root


# --------------------------------------------------------------------------- image folders


def _walk_files(folder: Path) -> list[Path]:
    """Every file under ``folder`` (nested subfolders included), sorted; directory symlinks are not followed."""
    out = []
    for dirpath, dirnames, filenames in os.walk(folder):  # followlinks=False: a symlink loop cannot recurse
        dirnames.sort()
        out.extend(Path(dirpath) / name for name in sorted(filenames))
        out.extend(Path(dirpath) / d for d in dirnames if (Path(dirpath) / d).is_symlink())
    return out


def _list_class_dir(root: Path, split_dir: Path, split: str | None, skipped: list[tuple[str, str]],
                    found: list[tuple[str, str, str | None]]) -> None:
    for style_dir in sorted(p for p in split_dir.iterdir()):
        rel_dir = style_dir.relative_to(root).as_posix()
        if not style_dir.is_dir():
            if style_dir.name != SYNTHETIC_MARKER:
                skipped.append((rel_dir, "file outside any style folder"))
            continue
        if style_dir.name.startswith("."):
            skipped.append((rel_dir + "/", "hidden folder"))
            continue
        files = _walk_files(style_dir)
        usable = 0
        for f in files:
            rel = f.relative_to(root).as_posix()
            if f.name.startswith(".") or f.name in ("Thumbs.db", "desktop.ini"):
                skipped.append((rel, "hidden or system file"))
            elif f.is_symlink() and not f.exists():
                skipped.append((rel, "broken symlink or symlink loop"))
            elif f.is_dir():
                skipped.append((rel, "directory symlink not followed"))
            elif f.suffix.lower() not in IMAGE_EXTENSIONS:
                skipped.append((rel, f"not an image file extension ({f.suffix or 'none'})"))
            else:
                found.append((rel, style_dir.name, split))
                usable += 1
        if usable == 0:
            skipped.append((rel_dir + "/", "style folder has no image files: class ignored"))


def _folder_fingerprint(root: Path, rels: list[str]) -> str:
    h = hashlib.sha1()
    for rel in rels:
        try:
            st = (root / rel).stat()
            h.update(f"{rel}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
        except OSError:
            h.update(f"{rel}\0missing\n".encode())
    return h.hexdigest()


def _open_folder(root: Path, spec: str, options: dict[str, Any]) -> Source:
    root = Path(root).resolve()
    skipped: list[tuple[str, str]] = []
    found: list[tuple[str, str, str | None]] = []
    split_dirs = [d for d in SPLITS if (root / d).is_dir()]
    if "train" in split_dirs or "test" in split_dirs:
        for split in split_dirs:
            _list_class_dir(root, root / split, split, skipped, found)
        for other in sorted(p for p in root.iterdir() if p.name not in SPLITS and p.name != SYNTHETIC_MARKER):
            name = other.name + ("/" if other.is_dir() else "")  # folder keys end in "/": they are not files found
            skipped.append((name, "not a split folder (expected train/, val/, test/)"))
    else:
        _list_class_dir(root, root, None, skipped, found)
    if not found:
        raise ArtstyleError(f"--data {spec}: no images found; expected {root}/<Style>/*.jpg or "
                            f"{root}/train/<Style>/*.jpg")
    # Carve the missing splits, stratified by class.
    carve = {}
    if not any(s is not None for _, _, s in found):
        carve = {"test": options["test_fraction"], "val": options["val_fraction"]}
        pool = [(rel, label) for rel, label, _ in found]
    elif "val" not in split_dirs:
        carve = {"val": options["val_fraction"]}
        pool = [(rel, label) for rel, label, s in found if s == "train"]
    else:
        pool = []
    keys_by_label: dict[str, list[str]] = {}
    for rel, label in pool:
        keys_by_label.setdefault(class_name(label), []).append(rel)
    carved = assign_splits(keys_by_label, carve, options["seed"]) if carve else {}
    items = [Item(key=rel, label=class_name(label), split=carved.get(rel, split or "train"), path=str(root / rel))
             for rel, label, split in found]
    marker = root / SYNTHETIC_MARKER
    return Source(spec=spec, items=items, skipped=skipped, synthetic=marker.is_file(),
                  fingerprint=_folder_fingerprint(root, [i.key for i in items]), options=options)


# --------------------------------------------------------------------------- Hugging Face datasets

_HF_CACHE: dict[tuple[Any, ...], Any] = {}


def _looks_like_hf_dir(path: Path) -> bool:
    return (path / "dataset_info.json").is_file() or (path / "state.json").is_file() or any(path.glob("**/*.parquet"))


def _hf_cache_key(spec: str) -> tuple[Any, ...]:
    """``spec`` plus the size and mtime of every local file behind it: a file changed in place is read again."""
    path = Path(spec)
    if spec.startswith("hf:") or not path.exists():
        return (spec,)
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    return (spec, *((str(f), f.stat().st_size, f.stat().st_mtime_ns) for f in files))


def _load_hf(spec: str) -> Any:
    """The ``datasets.Dataset`` for a spec, with images left undecoded (we decode ourselves)."""
    key = _hf_cache_key(spec)
    if key in _HF_CACHE:
        return _HF_CACHE[key]
    try:
        import datasets
    except ImportError:
        raise ArtstyleError("reading Hugging Face datasets needs the 'datasets' package: pip install datasets") from None
    if spec.startswith("hf:"):
        hub_id = spec[3:]
        try:
            ds = datasets.load_dataset(hub_id, split="train")
        except Exception as exc:  # offline, missing, or private: say exactly that
            raise ArtstyleError(
                f"could not load the Hugging Face dataset '{hub_id}' ({type(exc).__name__}: {str(exc).splitlines()[0][:200]}). "
                "It is not in the local Hugging Face cache and the hub cannot be reached. Download it on a machine "
                "with internet (datasets.load_dataset(...).save_to_disk(DIR) or copy its parquet files) and pass "
                "--data DIR, or set HF_HOME to a cache that holds it.") from None
    else:
        path = Path(spec).expanduser()
        if path.is_dir() and ((path / "state.json").is_file() or (path / "dataset_info.json").is_file()) \
                and not any(path.glob("**/*.parquet")):
            ds = datasets.load_from_disk(str(path))
            if isinstance(ds, datasets.DatasetDict):
                ds = ds["train"] if "train" in ds else next(iter(ds.values()))
        else:
            files = [str(path)] if path.is_file() else sorted(str(p) for p in path.glob("**/*.parquet"))
            ds = datasets.load_dataset("parquet", data_files=files, split="train")
    if "image" not in ds.column_names:
        raise ArtstyleError(f"--data {spec}: no 'image' column (columns: {', '.join(ds.column_names)}); "
                            "expected the huggan/wikiart schema")
    ds = ds.cast_column("image", datasets.Image(decode=False))
    _HF_CACHE.clear()  # one dataset at a time: a stale entry would pin its memory
    _HF_CACHE[key] = ds
    return ds


def _label_names(ds: Any, column: str) -> list[str] | None:
    feature = ds.features[column]
    return list(feature.names) if hasattr(feature, "names") else None


def _open_hf(spec: str, options: dict[str, Any]) -> Source:
    ds = _load_hf(spec)
    column = options["label_column"]
    if column not in ds.column_names:
        raise ArtstyleError(f"--label-column {column}: not a column of {spec} (columns: {', '.join(ds.column_names)})")
    names = _label_names(ds, column)
    raw = ds[column]
    labels = [class_name(names[v]) if names is not None else str(v) for v in raw]
    extras_cols = [c for c in ("style", "genre", "artist") if c in ds.column_names and c != column]
    extra_values = {c: ds[c] for c in extras_cols}
    extra_names = {c: _label_names(ds, c) for c in extras_cols}
    keys = [f"row:{i}" for i in range(len(labels))]
    keys_by_label: dict[str, list[str]] = {}
    for key, label in zip(keys, labels):
        keys_by_label.setdefault(label, []).append(key)
    splits = assign_splits(keys_by_label, {"test": options["test_fraction"], "val": options["val_fraction"]},
                           options["seed"])
    items = []
    for i, (key, label) in enumerate(zip(keys, labels)):
        extra = tuple((c, (extra_names[c][extra_values[c][i]] if extra_names[c] else str(extra_values[c][i])))
                      for c in extras_cols)
        items.append(Item(key=key, label=label, split=splits[key], row=i, extra=extra))
    fingerprint = hashlib.sha1(f"{getattr(ds, '_fingerprint', '')}\0{column}\0{len(ds)}".encode()).hexdigest()
    return Source(spec=spec, items=items, skipped=[], synthetic=False, fingerprint=fingerprint,
                  label_column=column, options=options)


def _hf_row_bytes(source: Source, row: int | None) -> bytes:
    ds = _load_hf(source.spec)
    value = ds[int(row)]["image"]
    if value.get("bytes"):
        return value["bytes"]
    if value.get("path"):
        with open(value["path"], "rb") as fh:
            return fh.read()
    raise OSError("row has neither image bytes nor a path")


def describe(source: Source) -> dict[str, Any]:
    """A JSON-able summary: spec, synthetic flag, class counts per split, skipped count."""
    counts: dict[str, dict[str, int]] = {}
    for item in source.items:
        counts.setdefault(item.split, {}).setdefault(item.label, 0)
        counts[item.split][item.label] += 1
    return {"spec": source.spec, "synthetic": source.synthetic, "classes": source.classes,
            "counts": counts, "skipped": len(source.skipped)}


__all__ = ["Item", "Source", "open_source", "current_source", "assign_splits", "class_name", "cache_root", "ensure_builtin",
           "describe"]
