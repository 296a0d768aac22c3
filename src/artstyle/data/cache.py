"""The decode-once cache: every image decoded and resized once into a uint8 memory-mapped array.

Usage::

    cache = prepare_cache("builtin", size=128)     # reused when the source and settings match
    train = CachedImages(cache, "train")            # artstyle.data.dataset: (uint8 CHW tensor, label) pairs
    cache.classes, cache.counts("train"), cache.synthetic

On disk (``<cache_root>/prepared/<hash>/`` unless ``out`` is given):

- ``images.u8``: raw uint8 ``(N, H, W, 3)``, memory-mapped when read (shape in meta.json);
- ``index.jsonl``: one line per row: key, label name, split, original size, extra attributes;
- ``classes.json``: the label map (sorted class names) with the source and the synthetic flag;
- ``skipped.jsonl``: every file found but not cached, with the reason (found = cached + skipped);
- ``meta.json``: source fingerprint, size, resize policy, format version, counts. Written last.

The cache is built in a temporary sibling directory and renamed into place, so a killed build leaves
nothing that looks complete. The decoding runs in a process pool whose workers write their rows straight into
``images.u8`` (``artstyle.data.build``); the result is byte for byte what one process writes.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from artstyle.data.build import decode_rows, keep_rows, reserve
from artstyle.data.decode import RESIZE_POLICIES
from artstyle.data.sources import Item, Source, cache_root, current_source, open_source
from artstyle.errors import ArtstyleError
from artstyle.runs import read_json, read_jsonl, write_json, write_text

CACHE_VERSION = 1
SPLIT_ORDER = ("test", "val", "train")  # eval splits first, so a duplicate is dropped from train, not test


@dataclass
class Cache:
    """A prepared cache opened for reading. ``images`` is a read-only memmap ``(N, H, W, 3)`` uint8."""

    root: Path
    meta: dict[str, Any]
    classes: list[str]
    index: list[dict[str, Any]]
    labels: np.ndarray
    """int64 ``(N,)``: indices into ``classes``."""
    splits: np.ndarray
    """str ``(N,)``: ``train``/``val``/``test`` per row."""

    @property
    def size(self) -> int:
        return int(self.meta["size"])

    @property
    def synthetic(self) -> bool:
        return bool(self.meta["synthetic"])

    @property
    def source(self) -> str:
        return str(self.meta["source"])

    @property
    def images(self) -> np.ndarray:
        # Opened per access-site lazily and cached: a memmap survives fork and is cheap to reopen in workers.
        if getattr(self, "_images", None) is None:
            n, s = int(self.meta["n"]), self.size
            if n == 0:
                self._images = np.zeros((0, s, s, 3), np.uint8)
            else:
                # Checked again here: the file may have been cut short since load_cache (e.g. in a worker).
                damage = _images_damage(self.root, self.meta)
                if damage:
                    raise ArtstyleError(_damaged_message(self.root, self.meta, damage))
                self._images = np.memmap(self.root / "images.u8", dtype=np.uint8, mode="r", shape=(n, s, s, 3))
        return self._images

    def indices(self, split: str | Sequence[str] = "train") -> np.ndarray:
        """Row indices of one split, several splits, or ``"all"``."""
        if split == "all":
            return np.arange(len(self.labels))
        wanted = [split] if isinstance(split, str) else list(split)
        return np.flatnonzero(np.isin(self.splits, wanted))

    def counts(self, split: str | Sequence[str] = "train") -> np.ndarray:
        """Images per class ``(C,)`` in ``split``."""
        return np.bincount(self.labels[self.indices(split)], minlength=len(self.classes))

    def extra(self, row: int) -> dict[str, str]:
        """Extra attributes of a row (artist, genre, ... when the source has them)."""
        return dict(self.index[row].get("extra", {}))


def _default_out(source: Source, size: int, policy: str) -> Path:
    key = json.dumps([source.spec, source.fingerprint, size, policy, source.label_column, source.options,
                      CACHE_VERSION], sort_keys=True)
    return cache_root() / "prepared" / hashlib.sha1(key.encode()).hexdigest()[:16]


def _wanted_meta(source: Source, size: int, policy: str) -> dict[str, Any]:
    return {"format_version": CACHE_VERSION, "source": source.spec, "fingerprint": source.fingerprint,
            "size": size, "policy": policy, "label_column": source.label_column, "options": source.options,
            "synthetic": source.synthetic}


def _matches(meta: dict[str, Any], wanted: dict[str, Any]) -> bool:
    return all(meta.get(k) == v for k, v in wanted.items())


def _note(message: str) -> None:
    """Say on the console (stderr) what the cache did that the user did not ask for."""
    print(f"note: {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- damage and staleness


def _images_damage(root: Path, meta: dict[str, Any]) -> str | None:
    """Why ``images.u8`` cannot be what ``meta`` says it is, or None. A short file is never mapped."""
    expected, path = int(meta["n"]) * int(meta["size"]) ** 2 * 3, root / "images.u8"
    actual = path.stat().st_size if path.is_file() else None
    if actual is None:
        return "images.u8 is missing"
    return None if actual == expected else f"images.u8 has {actual} bytes, expected {expected}"


def _damage(root: Path, meta: dict[str, Any]) -> str | None:
    """Why a cache whose meta.json is complete cannot be read as valid, or None."""
    damage = _images_damage(root, meta)
    if damage:
        return damage
    for name in ("classes.json", "index.jsonl"):
        if not (root / name).is_file():
            return f"{name} is missing"
    rows = len(read_jsonl(root / "index.jsonl"))  # a torn or cut line is dropped, so rows shift against pixels
    return None if rows == int(meta["n"]) else f"index.jsonl has {rows} rows, expected {meta['n']}"


def _damaged_message(root: Path, meta: dict[str, Any], damage: str) -> str:
    return (f"cache {root} is damaged: {damage}; rebuild it with `artstyle data prepare --data {meta.get('source')} "
            f"--size {meta.get('size')} --policy {meta.get('policy')} --out {root} --overwrite`")


def describe_change(root: Path, source: Source) -> str:
    """``"2 added, 1 removed"`` between the files a cache saw (rows and skipped) and ``source``'s now."""
    old = {r["key"] for r in read_jsonl(root / "index.jsonl") + read_jsonl(root / "skipped.jsonl")
           if is_file_key(r["key"])}
    new = {i.key for i in source.items} | {k for k, _ in source.skipped if is_file_key(k)}
    parts = [f"{len(new - old)} added" if new - old else "", f"{len(old - new)} removed" if old - new else ""]
    return ", ".join(p for p in parts if p) or "files changed in place (size or modification time)"


def _stale_sibling(source: Source, wanted: dict[str, Any]) -> Path | None:
    """The newest default-location cache of the same source and settings, built before the source changed."""
    found, settings = [], {k: v for k, v in wanted.items() if k != "fingerprint"}
    for meta_path in (cache_root() / "prepared").glob("*/meta.json"):
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if _matches(meta, settings) and meta.get("fingerprint") != wanted["fingerprint"]:
            found.append((str(meta.get("created", "")), meta_path.parent))
    return max(found)[1] if found else None


def check_source_unchanged(cache: Cache) -> None:
    """Refuse a cache given by path whose image folder changed since it was built (folders only)."""
    source = current_source(cache.source, cache.meta.get("options") or {})
    if source is None or source.fingerprint == cache.meta.get("fingerprint"):
        return
    raise ArtstyleError(f"cache {cache.root} was built from {cache.source}, which changed since "
                        f"({describe_change(cache.root, source)}); rebuild it with `artstyle data prepare --data "
                        f"{cache.source} --size {cache.size} --out {cache.root} --overwrite`, or pass --data instead")


# ---------------------------------------------------------------- build


def _read_item(source: Source, item: Item) -> bytes:
    """The encoded bytes of one item (runs in the build's workers)."""
    if item.path is not None:
        with open(item.path, "rb") as fh:
            return fh.read()
    return source.read_bytes(item)


def prepare_cache(spec: str = "builtin", size: int = 128, policy: str = "center-crop", out: str | os.PathLike | None = None,
                  workers: int | None = None, overwrite: bool = False, label_column: str = "style", seed: int = 0,
                  progress: bool = True, source: Source | None = None) -> Cache:
    """Decode every image of ``spec`` once into a cache and return it opened; reuse a matching cache.

    A cache whose source fingerprint changed is rebuilt. An explicit ``out`` holding a cache built at
    another size or policy is an error unless ``overwrite``.
    """
    if policy not in RESIZE_POLICIES:
        raise ArtstyleError(f"--policy {policy!r} is not one of: {', '.join(RESIZE_POLICIES)}")
    if not 8 <= size <= 2048:
        raise ArtstyleError(f"--size {size}: choose a size between 8 and 2048 pixels")
    source = source or open_source(spec, label_column=label_column, seed=seed)
    wanted = _wanted_meta(source, size, policy)
    root = Path(out).expanduser() if out else _default_out(source, size, policy)
    if (root / "meta.json").is_file():
        meta = read_json(root / "meta.json")
        if _matches(meta, wanted):
            damage = _damage(root, meta)
            if damage is None:
                return load_cache(root)
            # Rebuilt from the source, never patched: a cut file cannot hand training wrong pixels.
            _note(f"cache {root} is damaged ({damage}): rebuilding it from {source.spec}")
        elif out and not overwrite and (meta.get("size"), meta.get("policy")) != (size, policy):
            raise ArtstyleError(f"cache {root} was built at {meta.get('size')} px ({meta.get('policy')}), not "
                                f"{size} px ({policy}); pass --overwrite to rebuild it or choose another --out")
        elif meta.get("fingerprint") != source.fingerprint:
            _note(f"{source.spec} changed since cache {root} was built ({describe_change(root, source)}): "
                  "rebuilding it")
    elif root.exists() and any(root.iterdir()) and not overwrite:
        raise ArtstyleError(f"{root} exists and is not an artstyle cache; choose another --out or pass --overwrite")
    elif not out and (stale := _stale_sibling(source, wanted)) is not None:
        _note(f"{source.spec} changed since cache {stale} was built ({describe_change(stale, source)}): "
              f"building a new cache {root}")
    _build_or_explain(source, root, size, policy, workers, progress, wanted)
    return load_cache(root)


def _build_or_explain(source: Source, root: Path, size: int, policy: str, workers: int | None, progress: bool,
                      wanted: dict[str, Any]) -> None:
    """:func:`_build`, with a full disk or a read-only cache folder said in one line."""
    try:
        _build(source, root, size, policy, workers, progress, wanted)
    except OSError as exc:
        if exc.errno == errno.ENOSPC:
            raise ArtstyleError(f"disk full while writing the cache under {root.parent}; free some space or "
                                "pass --out on a disk with room (the partial cache was removed)") from None
        if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            raise ArtstyleError(f"cache folder {root.parent} is not writable ({exc.strerror}); set ARTSTYLE_CACHE "
                                "to a writable folder or pass --out") from None
        raise


def _build(source: Source, root: Path, size: int, policy: str, workers: int | None, progress: bool,
           wanted: dict[str, Any]) -> None:
    root.parent.mkdir(parents=True, exist_ok=True)
    tmp = root.parent / f".{root.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        order = sorted(range(len(source.items)),
                       key=lambda i: (SPLIT_ORDER.index(source.items[i].split), source.items[i].key))
        workers = max(1, min(workers or os.cpu_count() or 1, 32)) if len(order) >= 64 else 1  # a pool costs ~0.1 s
        t0 = time.perf_counter()
        row_bytes = size * size * 3
        reserve(tmp / "images.u8", len(order) * row_bytes)
        outcomes = decode_rows(source, order, tmp / "images.u8", size, policy, workers, _read_item, progress)
        skipped = [{"key": k, "reason": r} for k, r in source.skipped]
        index: list[dict[str, Any]] = []
        kept: list[int] = []
        seen: dict[str, str] = {}
        for slot, (reason, digest, orig) in enumerate(outcomes):  # in build order, so the first copy is kept
            item = source.items[order[slot]]
            if reason is None and digest in seen:
                reason = f"duplicate of {seen[digest]} (identical bytes)"
            if reason is not None:
                skipped.append({"key": item.key, "reason": reason})
                continue
            seen[digest] = item.key
            kept.append(slot)
            index.append({"key": item.key, "label": item.label, "split": item.split, "orig_size": list(orig),
                          "extra": dict(item.extra)})
        keep_rows(tmp / "images.u8", kept, row_bytes)  # closes the skipped slots' gaps; fsynced before meta.json
        # Classes that lost every image to skipping drop out of the label map, and are reported.
        present = sorted({r["label"] for r in index})
        for c in sorted(set(source.classes) - set(present)):
            skipped.append({"key": f"class:{c}", "reason": "every image of this class was skipped: class dropped"})
        write_text(tmp / "index.jsonl", "".join(json.dumps(r) + "\n" for r in index))
        write_text(tmp / "skipped.jsonl", "".join(json.dumps(r) + "\n" for r in skipped))
        write_json(tmp / "classes.json", {"classes": present, "source": source.spec, "synthetic": source.synthetic})
        # Files found: those decoded plus those skipped; skipped folders and dropped classes are not files.
        meta = dict(wanted, n=len(index), n_found=len(order) + sum(1 for k, _ in source.skipped if is_file_key(k)),
                    n_skipped=sum(1 for s in skipped if is_file_key(s["key"])),
                    seconds=round(time.perf_counter() - t0, 2), created=time.strftime("%Y-%m-%dT%H:%M:%S"))
        write_json(tmp / "meta.json", meta)  # last: its presence marks a complete cache
        _move_into_place(tmp, root, wanted)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _move_into_place(tmp: Path, root: Path, wanted: dict[str, Any]) -> None:
    """Rename the finished build ``tmp`` to ``root``. When another process finished the same cache first (two
    commands started at once on the same data), keep theirs: replacing it would pull its files away from under a
    process that is already reading them (it then failed with "classes.json does not exist"). A stale or damaged
    cache in the way is moved aside; if another build moves or replaces it meanwhile, look again (a few times)."""
    for _ in range(5):
        try:
            os.rename(tmp, root)  # atomic; fails when root exists and is not empty
            return
        except OSError as exc:
            if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST):
                raise
        try:
            meta = read_json(root / "meta.json") if (root / "meta.json").is_file() else None
            if meta is not None and _matches(meta, wanted) and _damage(root, meta) is None:
                return  # an identical, complete cache is in place (wanted holds the fingerprint): drop ours
            trash = root.parent / f".{root.name}.old-{os.getpid()}"
            os.replace(root, trash)
            shutil.rmtree(trash, ignore_errors=True)
        except (FileNotFoundError, ArtstyleError):  # moved or replaced by another build while we looked: again
            continue
    raise ArtstyleError(f"could not put the cache in place at {root}: other processes kept replacing it; run the "
                        "command again")


def load_cache(root: str | os.PathLike, expect_size: int | None = None) -> Cache:
    """Open a prepared cache; ``expect_size`` guards against training at a resolution it was not built for."""
    root = Path(root)
    if not (root / "meta.json").is_file():
        raise ArtstyleError(f"{root} is not a prepared artstyle cache (meta.json missing); run `artstyle data prepare`")
    meta = read_json(root / "meta.json")
    if meta.get("format_version") != CACHE_VERSION:
        raise ArtstyleError(f"cache {root} has format {meta.get('format_version')}, this artstyle reads {CACHE_VERSION}; "
                            "rebuild it with `artstyle data prepare --overwrite`")
    if expect_size is not None and int(meta["size"]) != expect_size:
        raise ArtstyleError(f"cache {root} was built at {meta['size']} px but {expect_size} px was asked for; "
                            f"rebuild it with `artstyle data prepare --size {expect_size}` or drop --size")
    damage = _damage(root, meta)
    if damage:
        raise ArtstyleError(_damaged_message(root, meta, damage))
    classes = read_json(root / "classes.json")["classes"]
    index = read_jsonl(root / "index.jsonl")
    lookup = {c: i for i, c in enumerate(classes)}
    labels = np.array([lookup[r["label"]] for r in index], dtype=np.int64)
    splits = np.array([r["split"] for r in index], dtype=str)
    return Cache(root=root, meta=meta, classes=classes, index=index, labels=labels, splits=splits)


def skipped_items(cache: Cache) -> list[dict[str, str]]:
    """The ``skipped.jsonl`` records of a cache."""
    return read_jsonl(cache.root / "skipped.jsonl")


def is_file_key(key: str) -> bool:
    """Whether a skipped record names a file (``found = cached + skipped files``), not a folder or a class."""
    return not key.startswith("class:") and not key.endswith("/")


def run_cache(saved: dict[str, Any], size: int, policy: str = "center-crop", progress: bool = True) -> Cache:
    """The cache a run recorded in its config.json ``data`` section (``cache``, ``source``), at ``size`` px; when
    that cache was removed, ``source`` is prepared again."""
    try:
        return load_cache(saved["cache"], expect_size=size)
    except ArtstyleError:  # the cache was removed: prepare the source again
        return prepare_cache(saved["source"], size=size, policy=policy, progress=progress)


def open_cache(cfg: Any) -> Any:
    """The prepared cache for a stage config with ``data``/``cache``/``size``/``label_column`` (and ``cache_size``)."""
    size = getattr(cfg, "cache_size", 0) or cfg.size  # a classifier may cache larger than it sees (crops)
    if getattr(cfg, "cache", ""):
        cache = load_cache(cfg.cache, expect_size=size)
        check_source_unchanged(cache)
        return cache
    return prepare_cache(cfg.data, size=size, label_column=getattr(cfg, "label_column", "style"),
                         progress=cfg.progress)
