"""``artstyle serve``: a local web app (Gradio) over the Python API, on the runs it is given.

Usage::

    from artstyle.serve import serve
    serve(["runs/pipeline/<ts>-demo"], host="127.0.0.1", port=7860)   # blocks; Ctrl-C stops it
    server = serve([run], port=0, block=False)                         # tests: returns; server.close()

Modules: ``handlers`` (what each button does, over ``artstyle.api.Studio``; errors become one line in the
page), ``app`` (the tabs; the only module that imports gradio). Binds to
127.0.0.1 by default and never opens a public share link.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from artstyle.errors import ArtstyleError

DEFAULT_HOST, DEFAULT_PORT, DEFAULT_QUEUE = "127.0.0.1", 7860, 32


@dataclass
class Server:
    """A running app: its ``url`` and the Blocks ``demo`` (``close()`` stops it)."""

    url: str
    demo: Any
    studio: Any

    def close(self) -> None:
        self.demo.close()


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free on ``host`` right now."""
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def _one_thread_per_request() -> None:
    """One torch thread per request unless ``--threads``/ARTSTYLE_THREADS says otherwise.

    A request computes one image; intra-op threads cost more in synchronisation than they gain on it, and far
    more on a shared CPU (one classify took 1.16 s with torch's 2 threads and 77 ms with 1, at load average 7
    on 2 cores). Requests run side by side instead (``app.launch``'s concurrency).
    """
    import torch

    from artstyle.engine import set_threads

    if os.environ.get("ARTSTYLE_THREADS"):
        set_threads(0)
    else:
        torch.set_num_threads(1)


def serve(runs: Sequence[str | Path] = (), host: str = DEFAULT_HOST, port: int = DEFAULT_PORT,
          map_method: str = "auto", max_queue: int = DEFAULT_QUEUE, device: str | None = None,
          block: bool = True) -> Server:
    """Start the app on ``runs`` (none: the newest pipeline under runs/pipeline/) at ``http://host:port``.

    ``port`` 0 picks a free port. ``max_queue``: requests waiting beyond it are refused and the page says the
    app is busy. With ``block`` (the CLI) this returns only when the server stops.
    """
    import importlib.util

    from artstyle.api import load
    from artstyle.api.gallery import map_method as check_map

    if importlib.util.find_spec("gradio") is None:
        raise ArtstyleError("artstyle serve needs gradio: pip install 'artstyle[serve]'")
    check_map(map_method)
    if max_queue < 1:
        raise ArtstyleError(f"--max-queue {max_queue}: give at least 1")
    if not 0 <= port <= 65535:
        raise ArtstyleError(f"--port {port}: give a port between 1 and 65535 (0: any free port)")
    _one_thread_per_request()
    studio = load(*runs, device=device)
    from artstyle.serve.app import build_app, launch

    demo = build_app(studio, map_method)
    port = port or free_port(host)
    print(f"artstyle serve: http://{host}:{port}  (Ctrl-C stops it)", flush=True)
    launch(demo, host, port, max_queue, block)
    return Server(f"http://{host}:{port}", demo, studio)


__all__ = ["DEFAULT_HOST", "DEFAULT_PORT", "DEFAULT_QUEUE", "Server", "free_port", "serve"]
