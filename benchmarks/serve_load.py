"""Load check of `artstyle serve`: concurrent clients send classify requests to a server on 127.0.0.1.

Usage (repository root)::

    python benchmarks/serve_load.py                          # the newest pipeline under runs/pipeline/
    python benchmarks/serve_load.py runs/pipeline/<ts>-demo --clients 8 --requests 200 --doc

It starts `artstyle serve` as a separate process on a free loopback port, waits until the page answers,
then ``--clients`` threads (each its own gradio_client) share ``--requests`` calls of the ``/classify``
endpoint with one real image, and measures each call's latency end to end. It reports p50/p95 latency,
throughput, errors (including queue-full refusals) and the server process's peak RSS (VmHWM), and stops the
server. Bounded: it never sends more than ``--requests`` calls and gives up after ``--timeout`` seconds.
``--doc`` writes the table into docs/benchmarks.md (section ``serve_load``).
"""

from __future__ import annotations

import argparse
import os
import shlex
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from _report import machine, update_section  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def peak_rss_mb(pid: int) -> float:
    """Peak resident memory of a process (Linux /proc VmHWM), in MB; NaN where unavailable."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def test_image(runs: list[str], folder: Path) -> Path:
    """A test-split image of the classifier's own data (a 256 px PNG), or a noise image when none is at hand."""
    from PIL import Image

    path = folder / "painting.png"
    try:
        from artstyle.api import newest_pipeline
        from artstyle.data.cache import load_cache
        from artstyle.report import find_runs
        from artstyle.runs import read_json

        classify = find_runs(runs or [newest_pipeline()]).classify
        cache = load_cache(read_json(classify / "config.json")["data"]["cache"])
        rows = cache.indices("test")
        arr = np.asarray(cache.images[rows[len(rows) // 2]])
    except Exception as exc:  # noqa: BLE001 - any image does for a load check
        print(f"using a noise image ({type(exc).__name__}: {exc})")
        arr = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    Image.fromarray(arr).resize((256, 256), Image.Resampling.BICUBIC).save(path)
    return path


def wait_up(url: str, proc: subprocess.Popen, timeout: float) -> float:
    """Seconds until ``url`` answers 200; raises when the server exits or ``timeout`` passes."""
    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        if proc.poll() is not None:
            raise SystemExit(f"the server exited with status {proc.returncode} before it answered")
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                if r.status == 200:
                    return time.perf_counter() - start
        except OSError:
            time.sleep(0.5)
    raise SystemExit(f"the server did not answer within {timeout:.0f} s")


def hammer(url: str, image: Path, clients: int, requests: int, deadline: float) -> tuple[list[float], list[str]]:
    """``requests`` classify calls shared by ``clients`` threads; returns (latencies in s, error messages)."""
    from gradio_client import Client, handle_file

    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    left = [requests]

    def worker() -> None:
        client = Client(url, verbose=False, download_files=False)
        while True:
            with lock:
                if left[0] <= 0 or time.monotonic() > deadline:
                    return
                left[0] -= 1
            t0 = time.perf_counter()
            try:
                client.predict(handle_file(str(image)), api_name="/classify")
                with lock:
                    latencies.append(time.perf_counter() - t0)
            except Exception as exc:  # noqa: BLE001 - counted and reported
                with lock:
                    errors.append(f"{type(exc).__name__}: {str(exc)[:120]}")

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()) + 5)
    return latencies, errors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="*", help="pipeline directory or runs (default: the newest pipeline)")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--timeout", type=float, default=600, help="give up after this many seconds of load")
    parser.add_argument("--doc", action="store_true", help="write the result into docs/benchmarks.md")
    args = parser.parse_args()

    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    tmp = Path(tempfile.mkdtemp(prefix="artstyle-load-"))
    image = test_image(args.runs, tmp)
    cmd = [sys.executable, "-m", "artstyle", "serve", *args.runs, "--port", str(port), "--map", "pca"]
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False"}
    with open(tmp / "server.log", "w") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        startup = wait_up(url, proc, timeout=300)
        load_before = os.getloadavg()[0]
        t0 = time.perf_counter()
        latencies, errors = hammer(url, image, args.clients, args.requests, time.monotonic() + args.timeout)
        wall = time.perf_counter() - t0
        rss = peak_rss_mb(proc.pid)
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
    lat = np.array(latencies) * 1000
    done = len(latencies)
    p50, p95 = (np.percentile(lat, 50), np.percentile(lat, 95)) if done else (float("nan"), float("nan"))
    command = "python benchmarks/serve_load.py" + "".join(f" {shlex.quote(r)}" for r in args.runs) + \
        (f" --clients {args.clients}" if args.clients != 8 else "") + \
        (f" --requests {args.requests}" if args.requests != 200 else "") + " --doc"
    body = "\n".join([
        "## `artstyle serve` under load",
        "",
        f"Produced by: `{command}` ({machine()}; 1-minute load average {load_before:.1f} at the start). "
        f"{args.clients} concurrent gradio_client clients send {args.requests} `/classify` calls (one 256 px PNG "
        "upload each, top-5 + crop votes + 8 nearest neighbours) to `artstyle serve` on 127.0.0.1 with its "
        f"defaults: a queue of 32, {min(4, os.cpu_count() or 1)} requests computed side by side, one torch thread "
        "each.",
        "",
        "| measure | value |",
        "|---|---|",
        f"| requests answered | {done} of {args.requests} |",
        f"| errors | {len(errors)} |",
        f"| latency p50 | {p50:.0f} ms |",
        f"| latency p95 | {p95:.0f} ms |",
        f"| throughput | {done / wall:.1f} requests/s |",
        f"| server peak RSS | {rss:.0f} MB |",
        f"| server start (models loaded, page answering) | {startup:.0f} s |",
        "",
        "Latency is end to end: the upload, the wait in the queue behind the other clients, the computation "
        "and the reply (the clients do not download the result images). The clients run on the same cores as "
        "the server, so on a small machine they take part of its CPU.",
    ])
    print(body)
    if errors:
        print("first errors:", *errors[:5], sep="\n  ")
    if args.doc:
        print(f"wrote {update_section('serve_load', body)}")


if __name__ == "__main__":
    main()
