"""Part 2 on real images: the autoencoder against PCA at two budgets, and which representation clusters by style.

Usage::

    PYTHONPATH=src .venv/bin/python benchmarks/part2_real.py --doc
    PYTHONPATH=src .venv/bin/python benchmarks/part2_real.py --budgets 60 --builtin builtin:0.1 --only ae

Runs, one at a time, each as its own ``artstyle`` process under ``--out`` (default runs/part2-v2/):

1. ``embed train`` on the real-image benchmark (default ``.cache/real_styles_v2``) at every ``--budgets`` (the
   default ``grid`` model): a number is a ``--time-budget`` in seconds, ``full`` is the ``full`` profile's embed
   settings (``artstyle run --profile full``: 40 epochs, early stopping after 5 without a better val PSNR, the
   ``psnr`` loss, no time limit; ``--full-cap`` adds one for shared machines). Then the older ``spatial`` and
   ``conv`` models at the first budget, ``grid`` on the built-in data (``--builtin``) at the first budget, and the
   ``--full-archs`` (``ARCH`` or ``ARCH:WIDTH``) at ``full`` on the real images and on the whole built-in set
   (``--builtin-full``, the profile's own data). The PCA baseline of every row is fitted here on all training images of its dataset
   (:func:`fair_pca`); each run's metrics.json holds the AE and the patch-PCA start. A reused run's command is the one its config.json recorded (``argv``).
2. ``classify train`` (``--clf-budget``) on each dataset, ``embed export --split test`` of every kind (ae,
   ae-style, classifier, pixels, color-hist), ``cluster compare`` of the five files and ``cluster fit`` of
   ae-style for its maps.

With ``--doc`` it writes the sections ``part2-ae``, ``part2-clusters-builtin`` and ``part2-clusters-real`` of
docs/results.md (and copies the UMAP maps into docs/gallery/). A step whose output exists is reused unless
``--fresh``. Budgets are wall-clock seconds for the whole command (cache build included) on a shared machine.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _report import machine, update_section  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "results.md"
KINDS = ("ae", "ae-style", "classifier", "pixels", "color-hist")
ARCH_FLAGS = {
    "grid": ["--size", "64"],  # the defaults: --width 32, --lr 2e-3, whole 64 px images
    # the older models as they were benchmarked before issue 17's fix
    "spatial": ["--size", "64", "--train-crop", "32", "--width", "16", "--lr", "1e-3"],
    "conv": ["--size", "64"],
    "grid-fine": ["--size", "64"],
}


def full_width() -> int:
    """The ``full`` profile's autoencoder width (``embed train``'s default, 32, where it sets none)."""
    from artstyle.pipeline.profiles import PROFILES

    return int(PROFILES["full"]["embed"].get("width", 32))


def budget_flags(budget: str, width: int | None = None) -> list[str]:
    """``embed train`` flags of a budget: seconds (``--time-budget``) or ``full`` (the full profile's embed settings,
    with ``width`` in place of its width when given)."""
    if budget == "full":
        from artstyle.pipeline.profiles import PROFILES

        embed = {**PROFILES["full"]["embed"], **({"width": width} if width else {})}
        settings = [(k, v) for k, v in embed.items() if k not in ("size", "arch")]  # ARCH_FLAGS
        return [token for k, v in settings for token in (f"--{k.replace('_', '-')}", str(v))]
    return ["--epochs", "400", "--patience", "0", "--time-budget", str(int(budget))]


def budget_label(budget: str) -> str:
    if budget != "full":
        return f"{budget} s"
    from artstyle.pipeline.profiles import PROFILES

    embed = PROFILES["full"]["embed"]
    return f"`full` profile ({embed['epochs']} epochs, patience {embed['patience']})"


RAN: list[list[str]] = []
"""The commands this invocation ran (the rest were reused from earlier ones)."""


def artstyle(args: list[str], threads: int) -> str:
    """Run ``artstyle --threads N ARGS`` in its own process; return the command line (fail loudly)."""
    cmd = [str(ROOT / ".venv" / "bin" / "artstyle"), "--threads", str(threads), *args]
    RAN.append(args)
    line = shlex.join(["artstyle", "--threads", str(threads), *args])
    print(f"$ {line}", file=sys.stderr, flush=True)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode:
        raise SystemExit(f"failed ({proc.returncode}): {line}\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}")
    print(f"  done in {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
    return line


def train_ae(data: str, out: Path, budget: str, arch: str, threads: int, fresh: bool,
             full_cap: int = 0, width: int | None = None) -> tuple[str, dict]:
    """Train (or reuse) one autoencoder run; returns (the command that made it, its metrics.json)."""
    cap = ["--time-budget", str(full_cap)] if budget == "full" and full_cap else []
    args = ["embed", "train", "--data", data, "--arch", arch, *ARCH_FLAGS[arch], *budget_flags(budget, width), *cap,
            "--out", str(out), "--overwrite", "--no-progress"]
    line = shlex.join(["artstyle", "--threads", str(threads), *args])
    if fresh or not (out / "metrics.json").is_file():
        artstyle(args, threads)
    config = json.loads((out / "config.json").read_text())
    return config.get("argv") or line, {**json.loads((out / "metrics.json").read_text()), "model": config.get("model", {})}


_PCA: dict[tuple[str, int, int], dict] = {}


def fair_pca(data: str, latent_dim: int = 256, size: int = 64) -> dict:
    """PCA-``latent_dim`` fitted on every training image of ``data`` (today's ``embed train`` default), scored on the
    images ``embed train`` validates on. Runs made before that default fitted theirs on at most 2,000 images (1 dB
    weaker on the full built-in set), so the table scores every row against this one, recomputed here."""
    key = (data, latent_dim, size)
    if key not in _PCA:
        from artstyle.data.cache import prepare_cache
        from artstyle.embed.measure import fit_pca, pca_metrics

        cache = prepare_cache(data, size=size, progress=False)
        rows = cache.indices("val" if (cache.splits == "val").any() else "test")
        pca = fit_pca(cache, cache.indices("train"), latent_dim)
        _PCA[key] = {**pca_metrics(pca, cache.images, "mse", rows), "fit_images": int(pca.n_samples_),
                     "n_images": len(rows)}
    return _PCA[key]


def ae_row(name: str, arch: str, budget: str, m: dict, data: str) -> list[str]:
    ae, init, tr = m["autoencoder"], m.get("linear_init"), m["training"]
    pca = fair_pca(data, m["latent_dim"], m["size"])
    assert pca["n_images"] == m["n_images"], f"{name}: PCA and the AE scored on different images"
    start = f"{init['psnr']:.2f}" if init else "-"
    stopped = " (time cap)" if "time budget" in str(tr.get("stopped", "")) and budget == "full" else ""
    width = m.get("model", {}).get("width", 32)
    return [name, f"`{arch}`" + (f" w{width}" if width != 32 else ""), m.get("loss", "mse"), budget_label(budget) + stopped,
            f"{tr.get('train_seconds', float('nan')):.0f}", f"{tr.get('epochs_run', '?')} (best {tr.get('best_epoch', '?')})",
            f"{ae['psnr']:.2f}", f"{ae['ssim']:.3f}", f"{pca['psnr']:.2f}", f"{pca['ssim']:.3f}", start,
            f"{ae['psnr'] - pca['psnr']:+.2f}", f"{10 * math.log10(pca['mse'] / ae['mse']):+.2f}",
            f"{m['n_images']} {m['split']}"]


def cluster_part(label: str, data: str, out: Path, ae_run: Path, clf_budget: int, threads: int, fresh: bool,
                 gallery: Path | None) -> tuple[list[str], dict]:
    """Classifier, five exports, compare, ae-style map; returns (commands, comparison.json)."""
    lines = []
    clf = out / f"clf-{label}"
    args = ["classify", "train", "--data", data, "--size", "64", "--epochs", "400", "--time-budget", str(clf_budget),
            "--out", str(clf), "--overwrite", "--no-progress"]
    if fresh or not (clf / "metrics.json").is_file():
        artstyle(args, threads)
    lines.append(shlex.join(["artstyle", *args]))
    files = []
    for kind in KINDS:
        path = out / f"emb-{label}-{kind}.npz"
        args = ["embed", "export", "--data", data, "--kind", kind, "--split", "test", "--out", str(path),
                "--no-progress"]
        args += ["--run", str(clf if kind == "classifier" else ae_run)] if kind in ("ae", "ae-style", "classifier") else []
        if fresh or not path.is_file():
            artstyle(args, threads)
        lines.append(shlex.join(["artstyle", *args]))
        files.append(str(path))
    cmp_dir = out / f"compare-{label}"
    args = ["cluster", "compare", *files, "--split", "test", "--out", str(cmp_dir), "--overwrite"]
    if fresh or not (cmp_dir / "comparison.json").is_file():
        artstyle(args, threads)
    lines.append(shlex.join(["artstyle", *args]))
    fit_dir = out / f"fit-{label}-ae-style"
    args = ["cluster", "fit", files[1], "--split", "test", "--maps", "pca,umap", "--no-projector", "--out",
            str(fit_dir), "--overwrite"]
    if fresh or not (fit_dir / "metrics.json").is_file():
        artstyle(args, threads)
    lines.append(shlex.join(["artstyle", *args]))
    if gallery is not None:
        for name in ("map_umap", "map_pca"):
            src = fit_dir / "figures" / f"{name}.png"
            if src.is_file():
                gallery.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(src, gallery / f"part2_{label}_ae_style_{name}.png")
    return lines, json.loads((cmp_dir / "comparison.json").read_text())


def cluster_table(cmp: dict) -> str:
    head = ["representation", "dim", "method", "ARI", "NMI", "purity"]
    body = []
    for r in cmp["rows"]:
        for i, (method, sc) in enumerate(r["methods"].items()):
            body.append([r["label"] if i == 0 else "", str(r["dim"]) if i == 0 else "", method, f"{sc['ari']:.3f}",
                         f"{sc['nmi']:.3f}", f"{sc['purity']:.3f}"])
    for c in cmp["chance"]:
        sc = c["scores"]
        body.append([c["label"], "", "random", f"{sc['ari']:.3f}", f"{sc['nmi']:.3f}", f"{sc['purity']:.3f}"])
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * 2 + "---|" + "---:|" * 3]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in body])


def ae_runs(args: argparse.Namespace, budgets: list[str]) -> list[tuple]:
    """The autoencoder rows: ``(label, data, run name, budget, arch, width)``, width None for embed train's default."""
    real, builtin = "real (12 styles)", f"built-in ({args.builtin}, SYNTHETIC)"
    full = []
    for entry in args.full_archs.split(","):
        arch, _, width = entry.strip().partition(":")
        w = int(width) if width else full_width()
        full.append((arch, w, ("" if arch == "grid" else f"-{arch}") + ("" if w == 32 else f"-w{w}")))
    runs = [(real, args.data, f"ae-real-{b}", b, "grid", None) for b in budgets if b != "full"]
    runs += [(real, args.data, f"ae-real-full{tag}", "full", a, w) for a, w, tag in full if "full" in budgets]
    runs += [(real, args.data, f"ae-real-{a}-{budgets[0]}", budgets[0], a, None) for a in ("spatial", "conv")]
    runs.append((builtin, args.builtin, f"ae-builtin-{budgets[0]}", budgets[0], "grid", None))
    if "full" in budgets:  # the full profile's own data: the whole built-in set
        runs += [(f"built-in ({args.builtin_full}, SYNTHETIC)", args.builtin_full, f"ae-builtin1-full{tag}", "full",
                  a, w) for a, w, tag in full]
    return runs


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=".cache/real_styles_v2", help="real-image benchmark root (relative to the "
                    "repository root; built by `python benchmarks/real_styles.py .cache/real_styles_v2`)")
    ap.add_argument("--builtin", default="builtin:0.3", help="built-in dataset spec for the comparison rows")
    ap.add_argument("--builtin-full", default="builtin", help="built-in dataset spec for the `full` rows (the full "
                    "profile's own data: the whole set)")
    ap.add_argument("--full-archs", default="grid:32,grid-fine:32,grid-fine", help="autoencoders trained at the `full` "
                    "budget, comma-separated ARCH or ARCH:WIDTH (default width: the full profile's); a run of a width "
                    "other than 32 is named with -wWIDTH")
    ap.add_argument("--budgets", default="300,full", help="comma-separated embed train budgets: seconds, or full "
                    "(the full profile's embed settings, no time limit); the first must be seconds")
    ap.add_argument("--clf-budget", type=int, default=120, help="classify train budget (s) for the classifier kind")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--full-cap", type=int, default=0, help="also give the `full` runs this --time-budget (s), a cap "
                    "for shared machines; a run it stops is marked in the table (0 = none, as the profile)")
    ap.add_argument("--out", default="runs/part2-v2", help="where the runs go (relative to the current directory); "
                    "steps whose outputs exist there are reused unless --fresh")
    ap.add_argument("--only", choices=("all", "ae", "cluster"), default="all")
    ap.add_argument("--fresh", action="store_true", help="rerun steps whose outputs exist")
    ap.add_argument("--doc", action="store_true", help="write the sections into docs/results.md")
    args = ap.parse_args(argv)
    out, budgets = Path(args.out), [b.strip() for b in args.budgets.split(",")]
    if not budgets[0].isdigit() or not all(b.isdigit() or b == "full" for b in budgets):
        ap.error(f"--budgets {args.budgets!r}: seconds or full, comma-separated, the first in seconds")
    this = "python benchmarks/part2_real.py " + shlex.join(sys.argv[1:] if argv is None else argv)
    load = os.getloadavg()[0]
    when = (f"Machine: {machine()}; load average {load:.1f} when the benchmark started (above the number of cores, "
            "other jobs shared them and a budget in seconds bought fewer steps than on an idle machine).")
    reused = (f"Machine: {machine()}. Every run in this table was reused from an earlier invocation (each command "
              "above is the one its config.json recorded), so the load it ran under is stated in the reading below, "
              f"not here (load average {load:.1f} when the table was written).")
    if args.only in ("all", "ae"):
        rows, cmds = [], []
        for label, data, name, budget, arch, width in ae_runs(args, budgets):
            line, m = train_ae(data, out / name, budget, arch, args.threads, args.fresh, args.full_cap, width)
            rows.append(ae_row(label, arch, budget, m, data))
            cmds.append(line)
        head = ["data", "model", "loss", "budget", "trained (s)", "epochs", "AE PSNR", "AE SSIM", "PCA-256 PSNR",
                "PCA SSIM", "patch-PCA start PSNR", "AE - PCA (dB)", "AE - PCA, mean MSE (dB)", "scored on"]
        table = "\n".join(["| " + " | ".join(head) + " |", "|---|---|---|---|" + "---:|" * 9 + "---|"]
                          + ["| " + " | ".join(r) + " |" for r in rows])
        body = (f"### Autoencoder against PCA at equal budgets\n\nProduced by: `{this}`, which runs:\n\n```sh\n"
                + "\n".join(cmds) + "\n```\n\n" + (when if RAN else reused) + "\n\nLatent size 256 everywhere (48x compression of a 64 px "
                "image). A budget in seconds is wall-clock time for the whole `embed train` command, cache, patch-PCA "
                "start and validation included; the `full` profile's budget is epochs with early stopping, no time "
                "limit. `trained (s)` is the time in the training loop. PCA-256 is fitted on every training image of "
                "its dataset, recomputed here for every row (runs made before that default fitted theirs on at most "
                "2,000), and its fit is not counted against any budget. `patch-PCA start` is the model (not `conv`) before its first "
                "step: its linear path is the PCA of 16x16 training patches (16 numbers each), and the non-linear path "
                "starts at zero. AE and PCA are scored on the validation images. `loss` is what the run trained on: `mse`, "
                "or `psnr` (minus each image's PSNR, averaged: the average the PSNR columns report; the `full` "
                "profile's setting). `AE - PCA, mean MSE` compares the mean squared error instead (10 log10 of PCA's "
                "over the AE's): the PSNR columns average per image, so a `psnr` run can gain more there than on the "
                "mean error. `(time cap)`: a `full` run that `--full-cap` stopped before its 40 epochs.\n\n" + table)
        if args.doc:
            update_section("part2-ae", body, doc=DOC)
        print(body)
    if args.only in ("all", "cluster"):
        for label, data, ae_budget in (("builtin", args.builtin, budgets[0]), ("real", args.data, budgets[-1])):
            ae_run = out / (f"ae-builtin-{ae_budget}" if label == "builtin" else f"ae-real-{ae_budget}")
            if not (ae_run / "metrics.json").is_file():
                train_ae(data, ae_run, ae_budget, "grid", args.threads, args.fresh)
            lines, cmp = cluster_part(label, data, out, ae_run, args.clf_budget, args.threads, args.fresh,
                                      ROOT / "docs" / "gallery" if args.doc else None)
            n = cmp["rows"][0]["n_points"]
            title = ("the real-image benchmark (12 styles rendered from photographs)" if label == "real"
                     else f"the built-in dataset ({data}, SYNTHETIC)")
            body = (f"### Do styles cluster? {title}\n\nProduced by: `{this}`, which runs (after the autoencoder "
                    f"`{ae_run.name}` above):\n\n```sh\n" + "\n".join(lines) + "\n```\n\n" + when + f"\n\n{n} test "
                    f"images, each representation standardised and reduced to {cmp['pca_dim']} dimensions with PCA, "
                    f"clustered into as many groups as styles (HDBSCAN picks its own number). The classifier was "
                    f"trained with the labels ({args.clf_budget} s); the other kinds never saw them.\n\n"
                    + cluster_table(cmp) + f"\n\n![UMAP of the ae-style vectors, {label}]"
                    f"(gallery/part2_{label}_ae_style_map_umap.png)")
            if args.doc:
                update_section(f"part2-clusters-{label}", body, doc=DOC)
            print(body)


if __name__ == "__main__":
    main()
