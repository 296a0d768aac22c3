"""``artstyle serve``: the local web app on a pipeline's runs (classify, re-render, style map, generate, report).

Usage: ``artstyle serve`` (the newest pipeline under runs/pipeline/); ``artstyle serve runs/pipeline/<ts>-demo``;
``artstyle serve runs/classify/<run> runs/stylize/<run> emb.npz --port 8000``.

gradio is imported only when the command runs, so ``artstyle --help`` stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer


def register(app: typer.Typer) -> None:
    """Add the top-level ``serve`` command to the root ``app``."""

    @app.command("serve")
    def serve(runs: Optional[List[Path]] = typer.Argument(None, help="A pipeline directory, or stage runs (classify, "
                                                          "stylize, lora) and embeddings .npz files. Default: the "
                                                          "newest pipeline under runs/pipeline/.",
                                                          show_default=False),
              host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on. The default is this "
                                       "machine only; 0.0.0.0 lets anyone on the network use the app."),
              port: int = typer.Option(7860, "--port", help="Port to listen on (0: any free port)."),
              map_method: str = typer.Option("auto", "--map", help="Style map projection: umap, pca, or auto "
                                             "(UMAP when umap-learn is installed)."),
              max_queue: int = typer.Option(32, "--max-queue", help="Requests that may wait; beyond it the page "
                                            "says the app is busy."),
              device: str = typer.Option("auto", "--device", help="cuda, cpu, or auto (cuda when available).")
              ) -> None:
        """Serve a local web app over the runs: classify an upload (top-5, crop votes, nearest training images),
        re-render it in other styles, explore the style map, paint with a LoRA, read the report."""
        from artstyle.serve import serve as run_server

        if host not in ("127.0.0.1", "localhost", "::1"):
            typer.echo(f"warning: --host {host} makes the app reachable from other machines", err=True)
        run_server(list(runs or []), host=host, port=port, map_method=map_method, max_queue=max_queue,
                   device=None if device == "auto" else device)
