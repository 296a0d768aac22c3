"""The built-in dataset on disk: class counts per split, file names, and ``write_builtin``.

Usage::

    from artstyle.data.synth.writer import class_counts, write_builtin
    class_counts(0.1)["test"]["Baroque"]                  # images of Baroque in the test split at scale 0.1
    write_builtin(Path("/tmp/builtin"), scale=0.1)        # OUT/{train,test}/<Style>/*.jpg + marker
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import numpy as np
from PIL import Image

from artstyle.constants import SYNTH_SPLITS, SYNTHETIC_MARKER
from artstyle.data.synth.registry import paint
from artstyle.styles import STYLE_NAMES, STYLES

SYNTH_VERSION = 1
"""Bump whenever the painters change, so cached copies of the built-in dataset are repainted."""

JPEG_QUALITY = 92
TEST_TOTAL = 630
"""Test images at scale 1, as in the course copy of WikiArt."""


def class_counts(scale: float = 1.0) -> dict[str, dict[str, int]]:
    """``{'train': {style: n}, 'test': {style: n}}`` for the built-in dataset at ``scale``.

    Train: ``max(1, round(course_train_count * scale))`` per style. Test: ``round(630 * scale)`` images
    in total (at least one per style), apportioned in proportion to train by largest remainders.
    """
    if scale <= 0:
        raise ValueError(f"scale must be positive, got {scale}")
    by_name = {s.folder_name: s for s in STYLES}
    train = {name: max(1, round(by_name[name].course_train_count * scale)) for name in STYLE_NAMES}
    total = max(len(STYLE_NAMES), round(TEST_TOTAL * scale))
    n_train = sum(train.values())
    quota = {name: total * n / n_train for name, n in train.items()}
    test = {name: max(1, int(q)) for name, q in quota.items()}
    # Largest remainders: hand out (or take back) one image at a time, deterministically.
    while sum(test.values()) < total:
        name = max(STYLE_NAMES, key=lambda k: (quota[k] - test[k], k))
        test[name] += 1
    while sum(test.values()) > total:
        name = min((k for k in STYLE_NAMES if test[k] > 1), key=lambda k: (quota[k] - test[k], k))
        test[name] -= 1
    return {"train": train, "test": test}


def _file_name(style: str, index: int) -> str:
    return f"{style.lower()}_{index:05d}.jpg"


def _image_rng(seed: int, split: str, style: str, index: int) -> np.random.Generator:
    """Each image's own generator: independent of worker count and order."""
    ss = np.random.SeedSequence([seed, SYNTH_SPLITS.index(split), STYLE_NAMES.index(style), index])
    return np.random.default_rng(ss)


def _write_one(task: tuple[str, str, str, int, int, int]) -> None:
    """Paint one image and write it atomically (temp file in the same folder, then os.replace)."""
    out, split, style, index, size, seed = task
    img = paint(style, _image_rng(seed, split, style, index), size)
    path = Path(out) / split / style / _file_name(style, index)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    Image.fromarray(img).save(tmp, format="JPEG", quality=JPEG_QUALITY)
    os.replace(tmp, path)


def write_builtin(out: Path, scale: float = 1.0, size: int = 128, seed: int = 0, workers: int | None = None,
                  progress: bool = True) -> Path:
    """Write ``OUT/{train,test}/<Style>/<style>_<index:05d>.jpg`` and, last, ``OUT/artstyle-synthetic.json``.

    Each image depends only on (seed, split, style, index), so the output is byte-identical for any
    worker count. A marker-less folder is an incomplete run: rerunning overwrites it (stale images from
    an earlier, larger run are removed). Returns ``out``.
    """
    out = Path(out)
    counts = class_counts(scale)
    marker = out / SYNTHETIC_MARKER
    marker.unlink(missing_ok=True)  # from here until the end the folder is incomplete
    tasks = []
    for split in SYNTH_SPLITS:
        for style in STYLE_NAMES:
            folder = out / split / style
            folder.mkdir(parents=True, exist_ok=True)
            wanted = {_file_name(style, i) for i in range(counts[split][style])}
            own = re.compile(rf"^\.?{style.lower()}_\d{{5}}\.jpg(\.\d+\.tmp)?$")  # only files we write
            for f in folder.iterdir():  # leftovers of an earlier run with other counts, or temp files
                if f.name not in wanted and own.match(f.name):
                    f.unlink()
            tasks += [(str(out), split, style, i, size, seed) for i in range(counts[split][style])]

    from tqdm import tqdm

    workers = (os.cpu_count() or 1) if workers is None else max(1, workers)
    bar = tqdm(total=len(tasks), desc="painting built-in dataset", unit="img",
               disable=None if progress else True)  # None: off when not a TTY
    if workers == 1:
        for t in tasks:
            _write_one(t)
            bar.update()
    else:
        import multiprocessing as mp

        # spawn, not fork: the caller may already hold threads (torch, tqdm's monitor) that fork would copy.
        with mp.get_context("spawn").Pool(workers) as pool:
            chunk = max(1, min(32, len(tasks) // (workers * 8)))  # small chunks keep small runs balanced
            for _ in pool.imap_unordered(_write_one, tasks, chunksize=chunk):
                bar.update()
    bar.close()
    meta = {"synthetic": True, "generator": "artstyle.data.synth", "version": SYNTH_VERSION, "scale": scale,
            "size": size, "seed": seed, "counts": counts}
    tmp = marker.with_name(marker.name + ".tmp")
    tmp.write_text(json.dumps(meta, indent=2) + "\n")
    os.replace(tmp, marker)
    return out
