"""``artstyle data``: write the built-in dataset, prepare the decode-once cache, show dataset statistics."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from artstyle.constants import DATA_HELP

app = typer.Typer(help="Datasets: the built-in painted dataset, the decode-once cache, statistics.",
                  no_args_is_help=True)


@app.command("synth")
def synth(out: Path = typer.Argument(..., help="Folder to write OUT/{train,test}/<Style>/*.jpg into."),
          scale: float = typer.Option(1.0, help="Class sizes = the course copy's counts x scale (1 = 13,350 train)."),
          size: int = typer.Option(128, help="Image size in pixels."),
          seed: int = typer.Option(0, help="Random seed; the same seed writes identical files."),
          workers: int = typer.Option(0, help="Worker processes (0 = all cores).")) -> None:
    """Paint artstyle's built-in SYNTHETIC dataset: 27 procedural painters imitating the WikiArt styles."""
    from artstyle.data.synth import write_builtin

    write_builtin(out, scale=scale, size=size, seed=seed, workers=workers or None)
    typer.echo(f"wrote the synthetic dataset to {out}")


@app.command("prepare")
def prepare(data: str = typer.Option("builtin", help=DATA_HELP),
            size: int = typer.Option(128, help="Side of the square cached images, in pixels."),
            policy: str = typer.Option("center-crop", help="Resize policy: center-crop, pad (letterbox) or squash."),
            out: Optional[Path] = typer.Option(None, help="Cache directory (default: under ~/.cache/artstyle, keyed by source and settings)."),
            label_column: str = typer.Option("style", help="Label column for Hugging Face sources (style, genre or artist)."),
            seed: int = typer.Option(0, help="Seed of the carved validation/test splits."),
            workers: int = typer.Option(0, help="Decoding processes (0 = all cores)."),
            overwrite: bool = typer.Option(False, help="Rebuild an existing cache at --out even if its size differs.")) -> None:
    """Decode and resize every image once into a uint8 memory-mapped cache; bad files are skipped and listed."""
    from artstyle.data.cache import is_file_key, prepare_cache, skipped_items

    cache = prepare_cache(data, size=size, policy=policy, out=out, workers=workers or None, overwrite=overwrite,
                          label_column=label_column, seed=seed)
    skipped = [s for s in skipped_items(cache) if not s["key"].startswith("class:")]  # files and folders, listed
    typer.echo(f"cache: {cache.root}")
    files = sum(1 for s in skipped if is_file_key(s["key"]))  # found counts files; a skipped folder is no file
    typer.echo(f"found {cache.meta['n_found']} files = cached {len(cache.labels)} + skipped {files}"
               + (" (SYNTHETIC built-in data)" if cache.synthetic else ""))
    for s in skipped[:20]:
        typer.echo(f"  skipped {s['key']}: {s['reason']}")
    if len(skipped) > 20:
        typer.echo(f"  ... {len(skipped) - 20} more in {cache.root / 'skipped.jsonl'}")


@app.command("stats")
def stats(data: str = typer.Option("builtin", help=DATA_HELP),
          size: int = typer.Option(128, help="Cache size in pixels (the cache is built if needed)."),
          label_column: str = typer.Option("style", help="Label column for Hugging Face sources."),
          out: Optional[Path] = typer.Option(None, help="Output folder (default: runs/data/<timestamp>-stats/)."),
          overwrite: bool = typer.Option(False, help="Allow --out to be an existing, non-empty directory.")) -> None:
    """Class counts per split, the imbalance ratio, a bar chart PNG and a sample grid PNG."""
    from rich.console import Console
    from rich.table import Table

    from artstyle.data.cache import prepare_cache
    from artstyle.data.stats import write_stats
    from artstyle.runs import prepare_run_dir, read_json
    from artstyle.styles import display_name

    cache = prepare_cache(data, size=size, label_column=label_column)  # first: a bad --data leaves no empty --out
    run = write_stats(cache, prepare_run_dir(out, overwrite) if out is not None else None, data, label_column)
    st = read_json(run / "stats.json")
    table = Table(title=f"{st['source']}" + (" (SYNTHETIC built-in dataset)" if st["synthetic"] else ""))
    splits = list(st["counts"])
    table.add_column("style")
    for s in splits:
        table.add_column(s, justify="right")
    for c in sorted(st["classes"], key=lambda c: -st["counts"].get("train", {}).get(c, 0)):
        table.add_row(display_name(c), *[str(st["counts"][s].get(c, 0)) for s in splits])
    table.add_row("total", *[str(st["totals"][s]) for s in splits], style="bold")
    console = Console()
    console.print(table)
    console.print(f"imbalance ratio (largest/smallest train class): {st['imbalance_ratio']:.1f}; "
                  f"found {st['found']} = cached {st['cached']} + skipped {st['skipped']}")
    console.print(f"figures: {run / 'figures'}")
