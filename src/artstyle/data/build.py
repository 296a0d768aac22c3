"""Decode a source's images into the cache's pixel file, in parallel: each worker writes its own rows in place.

Usage (``artstyle.data.cache`` builds with it)::

    reserve(path, len(order) * row_bytes)
    outcomes = decode_rows(source, order, path, size, policy, workers=2, read=read_item)
    keep_rows(path, kept_slots, row_bytes)

Slot ``s`` of the file holds ``source.items[order[s]]``. Each worker opens the file itself and writes every row it
decodes at that row's offset, so only a few bytes per image (a skip reason, a digest, the original size) travel
back to the parent, which writes no pixels while they run. A file that cannot be read or decoded, or that the
parent finds to be a duplicate, leaves its slot unused; :func:`keep_rows` then slides the kept rows down over
those gaps and cuts the file to length. The result is byte for byte what one process writes (the same rows in
the same order), whatever the number of workers and whichever finishes first.

Workers write with ``write()`` rather than through a memory map: on a full disk a write into a map kills the
process with SIGBUS, while ``write()`` fails with ENOSPC, which the cache reports in one line. :func:`reserve`
claims the whole file's space first where the OS can, so a full disk is found before any decoding.
"""

from __future__ import annotations

import errno
import hashlib
import os
import threading
import time
from typing import Any, Callable, Sequence

from artstyle.data.decode import DecodeError, decode_with_size
from artstyle.data.sources import Item, Source
from artstyle.errors import ArtstyleError

Outcome = tuple[str | None, str, tuple[int, int]]
"""Per slot: the skip reason (None when the row was written), the SHA-1 of the file's bytes, its (width, height)."""
Reader = Callable[[Source, Item], bytes]

_MOVE_BYTES = 64 << 20  # rows copied per read/write when keep_rows closes gaps
_SYNC_BYTES = 16 << 20  # finished rows flushed to disk this often (in a background thread) while decoding goes on

# ---------------------------------------------------------------- worker side (in each pool process, or inline)

_STATE: dict[str, Any] = {}


def _start(source: Source, order: Sequence[int], path: str, size: int, policy: str, read: Reader,
           in_pool: bool = False) -> None:
    """Pool initializer: the worker's own handle on the pixel file (arguments inherited, not pickled, under fork)."""
    _STATE.update(source=source, order=order, size=size, policy=policy, read=read, file=open(path, "r+b"))
    if in_pool:  # a killed parent never tells its pool to stop: without this its workers would wait forever
        threading.Thread(target=_exit_when_orphaned, args=(os.getppid(),), daemon=True).start()


def _exit_when_orphaned(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(1)


def _stop() -> None:
    if "file" in _STATE:
        _STATE["file"].close()
    _STATE.clear()


def _decode_span(span: tuple[int, int]) -> list[Outcome]:
    """Decode slots ``start..stop-1``, write each decoded row at its offset; return one Outcome per slot."""
    source, order, size, policy, read, fh = (_STATE[k] for k in ("source", "order", "size", "policy", "read", "file"))
    row_bytes = size * size * 3
    out: list[Outcome] = []
    for slot in range(*span):
        item = source.items[order[slot]]
        try:
            data = read(source, item)
        except OSError as exc:
            out.append((f"cannot read: {type(exc).__name__}: {exc.strerror or exc}", "", (0, 0)))
            continue
        digest = hashlib.sha1(data).hexdigest()
        try:
            arr, stored_size = decode_with_size(data, size, policy)
        except DecodeError as exc:
            out.append((str(exc), digest, (0, 0)))
            continue
        fh.seek(slot * row_bytes)
        fh.write(arr.tobytes())
        out.append((None, digest, stored_size))
    fh.flush()  # in the kernel before the parent hears of it: the parent's fsync then covers every row
    return out


# ---------------------------------------------------------------- parent side


def _spans(n: int, workers: int) -> list[tuple[int, int]]:
    """Slot ranges small enough to balance the workers at the end, large enough that each costs ~1% overhead."""
    step = max(4, min(32, n // (workers * 32) or 1)) if workers > 1 else 64
    return [(i, min(i + step, n)) for i in range(0, n, step)]


class _Flusher:
    """fsyncs the file in a background thread every ~16 MB of finished rows, while the decoding goes on.

    The final fsync (before meta.json marks the cache complete) then has little left to write, with one worker or
    many alike, instead of writing the whole file at the end while every core waits.
    """

    def __init__(self, path: os.PathLike | str, row_bytes: int) -> None:
        from concurrent.futures import ThreadPoolExecutor

        self.fd, self.row_bytes, self.unsynced = os.open(path, os.O_RDWR), row_bytes, 0
        self.thread, self.job = ThreadPoolExecutor(1, thread_name_prefix="cache-fsync"), None

    def done(self, rows: int) -> None:
        self.unsynced += rows * self.row_bytes
        if self.unsynced >= _SYNC_BYTES and (self.job is None or self.job.done()):
            if self.job is not None:
                self.job.result()  # an I/O error (a full disk) surfaces here
            self.job, self.unsynced = self.thread.submit(os.fsync, self.fd), 0

    def close(self) -> None:
        """Wait for the last flush and raise its error (a full disk), closing the file either way."""
        try:
            if self.job is not None:
                self.job.result()
        finally:
            self.thread.shutdown(wait=True)
            os.close(self.fd)


def decode_rows(source: Source, order: Sequence[int], path: os.PathLike | str, size: int, policy: str, workers: int,
                read: Reader, progress: bool = True) -> list[Outcome]:
    """Decode ``source.items[order[s]]`` into slot ``s`` of ``path`` (already :func:`reserve`-d); Outcomes by slot.

    ``workers > 1`` runs a process pool (fork where the OS has it, so nothing big is pickled); 1 decodes here.
    """
    from tqdm.auto import tqdm

    spans, outcomes = _spans(len(order), workers), [None] * len(order)
    args = (source, list(order), str(path), size, policy, read)
    flusher = _Flusher(path, size * size * 3)
    bar = tqdm(total=len(order), desc=f"prepare {size}px", unit="img", disable=None if progress else True)

    def finished(span: tuple[int, int], result: list[Outcome]) -> None:
        outcomes[span[0]:span[1]] = result
        bar.update(span[1] - span[0])
        flusher.done(span[1] - span[0])

    try:
        if workers == 1:
            _start(*args)
            for span in spans:
                finished(span, _decode_span(span))
        else:
            _decode_in_pool(spans, workers, args, finished)
    finally:
        _stop()
        flusher.close()
        bar.close()
    return outcomes  # type: ignore[return-value]


def _decode_in_pool(spans: list[tuple[int, int]], workers: int, args: tuple,
                    finished: Callable[[tuple[int, int], list[Outcome]], None]) -> None:
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor, as_completed
    from concurrent.futures.process import BrokenProcessPool

    ctx = mp.get_context("fork" if "fork" in mp.get_all_start_methods() else "spawn")
    # ProcessPoolExecutor, not multiprocessing.Pool: a worker that dies (out of memory, killed) fails the build
    # instead of hanging it forever.
    pool = ProcessPoolExecutor(workers, mp_context=ctx, initializer=_start, initargs=(*args, True))
    try:
        futures = {pool.submit(_decode_span, span): span for span in spans}
        for future in as_completed(futures):
            finished(futures[future], future.result())
    except BrokenProcessPool as exc:
        raise ArtstyleError(f"a cache worker process died while decoding {args[0].spec} (out of memory, or "
                            "killed?); rerun with --workers 1 to decode in one process") from exc
    finally:
        # Waits for the spans already running (their writes land in a file about to be removed), cancels the rest.
        pool.shutdown(wait=True, cancel_futures=True)


def reserve(path: os.PathLike | str, nbytes: int) -> None:
    """Create ``path`` at ``nbytes``, claiming the disk space now where the OS can (a full disk fails here)."""
    with open(path, "wb") as fh:
        if nbytes and hasattr(os, "posix_fallocate"):
            try:
                os.posix_fallocate(fh.fileno(), 0, nbytes)
                return
            except OSError as exc:
                if exc.errno not in (errno.EINVAL, errno.EOPNOTSUPP, errno.ENOSYS):
                    raise
        fh.truncate(nbytes)


def keep_rows(path: os.PathLike | str, kept: Sequence[int], row_bytes: int) -> None:
    """Move slots ``kept`` (ascending) to rows ``0..len(kept)-1``, cut the file after them, and fsync it."""
    step = max(1, _MOVE_BYTES // row_bytes)
    with open(path, "r+b") as fh:
        dst = 0
        while dst < len(kept):
            src, count = kept[dst], 1  # a run of consecutive slots moves as one block
            while dst + count < len(kept) and kept[dst + count] == src + count:
                count += 1
            if src != dst:  # src > dst: every block is read before the rows it overwrites are needed
                for off in range(0, count, step):
                    n = min(step, count - off)
                    fh.seek((src + off) * row_bytes)
                    block = fh.read(n * row_bytes)
                    fh.seek((dst + off) * row_bytes)
                    fh.write(block)
            dst += count
        fh.truncate(len(kept) * row_bytes)
        fh.flush()
        os.fsync(fh.fileno())
