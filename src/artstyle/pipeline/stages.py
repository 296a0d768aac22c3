"""The pipeline's stages: one small function each, and the one table ``STAGES`` that orders them.

Usage: ``STAGES["classify"].run(ctx)`` -> ``{"run": ..., "command": ...}`` (recorded in pipeline.json).

 1. ``data``        prepare the decode-once cache (its run directory is the cache, shared between runs);
 2. ``stats``       class counts, imbalance, bar chart and sample grid;
 3. ``classify``    the style classifier; its features are an embedding kind and it is the stylizer's loss network;
 4. ``judge``       a second classifier, another architecture and seed: the stylizer's independent judge;
 5. ``strategies``  a short equal-budget comparison of imbalance strategies (skipped when the profile lists none);
 6. ``embed``       the autoencoder, against a PCA baseline;
 7. ``embeddings``  embeddings files: ae, classifier, pixels, color-hist;
 8. ``cluster``     the ae embeddings clustered with 2-D maps, and every kind compared against chance;
 9. ``stylize``     the style-conditioned re-renderer, trained against ``classify`` and evaluated by ``judge``;
                   ``init_from = "embed"`` (the demo's) starts its encoder from ``embed``'s autoencoder;
10. ``lora``        LoRA fine-tuning and per-style grids, only with ``--pretrained`` (or ``pretrained`` in ``[lora]``);
11. ``report``      ``report.md`` and a self-contained ``report.html`` in the pipeline directory.

Each stage writes its run directory under ``<pipeline>/stages/<key>/`` and returns what pipeline.json
records about it: ``run`` (the directory), ``command`` (the ``artstyle`` line that reproduces it, read from
the run's config.json) and anything later stages read (``ctx.output(key)``). Stage packages are imported
inside the functions: they import torch.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from artstyle.errors import ArtstyleError
from artstyle.pipeline.profiles import EMBEDDING_KINDS
from artstyle.pipeline.state import Context, e, q
from artstyle.runs import read_json, run_stage


def _command(run: Path) -> str:
    """The command the stage run's config.json records."""
    return run_stage(run)[1] or ""


def stage_data(ctx: Context) -> dict[str, Any]:
    from artstyle.data.cache import prepare_cache

    d = ctx.settings["data"]
    cache = prepare_cache(d["data"], size=d["size"], label_column=d["label_column"], workers=d["workers"] or None,
                          progress=ctx.cfg.progress)
    ctx.state["synthetic"] = cache.synthetic
    ctx.console.print(f"{len(cache.labels):,} images of {len(cache.classes)} classes at {cache.size} px"
                      + (" ([bold red]SYNTHETIC[/] built-in data)" if cache.synthetic else f" from {e(cache.source)}"))
    # The cache is no run directory (it is shared between runs), so its command is built here.
    return {"run": str(cache.root), "synthetic": cache.synthetic, "images": int(len(cache.labels)),
            "classes": len(cache.classes),
            "command": f"artstyle data prepare --data {q(d['data'])} --size {d['size']}"
                       + (f" --label-column {q(d['label_column'])}" if d["label_column"] != "style" else "")}


def stage_stats(ctx: Context) -> dict[str, Any]:
    from artstyle.data.cache import prepare_cache
    from artstyle.data.stats import write_stats

    d = ctx.settings["data"]
    cache = prepare_cache(d["data"], size=d["size"], label_column=d["label_column"], progress=False)
    out = write_stats(cache, ctx.stage_dir("stats"), data=d["data"], label_column=d["label_column"])
    st = read_json(out / "stats.json")
    ctx.console.print(f"train imbalance {st['imbalance_ratio']:.0f}:1, majority class {e(st['majority_class'])}; "
                      f"splits: {', '.join(f'{k} {v:,}' for k, v in st['totals'].items())}")
    return {"run": str(out), "command": _command(out)}


def _classifier_summary(ctx: Context, run: Path) -> None:
    m = read_json(run / "metrics.json")
    b = m["baselines"]
    ctx.console.print(f"test: balanced accuracy {100 * m['balanced_accuracy']:.1f}% (chance "
                      f"{100 * b['chance_balanced_accuracy']:.1f}%), accuracy {100 * m['accuracy']:.1f}% (majority "
                      f"class {100 * b['majority_accuracy']:.1f}%), macro-F1 {100 * m['macro_f1']:.1f}%")


def stage_classify(ctx: Context, key: str = "classify") -> dict[str, Any]:
    from artstyle.classify import ClassifyConfig, train_classifier

    run = train_classifier(ClassifyConfig(**{**ctx.settings[key], "out": str(ctx.stage_dir(key))}))
    _classifier_summary(ctx, run)
    return {"run": str(run), "command": _command(run)}


def stage_judge(ctx: Context) -> dict[str, Any]:
    return stage_classify(ctx, "judge")


def stage_strategies(ctx: Context) -> dict[str, Any]:
    from artstyle.classify import ClassifyConfig, compare_strategies

    values = dict(ctx.settings["strategies"])
    strategies, seeds, models = values.pop("strategies"), values.pop("seeds", 1), values.pop("models", []) or None
    # stages/strategies/classify/compare/: where the comparison has always been inside the pipeline.
    out = ctx.stage_dir("strategies") / "classify" / "compare"
    run = compare_strategies(ClassifyConfig(**values), strategies, seeds, models, out=out)
    for row in read_json(run / "comparison.json")["summary"]:
        ctx.console.print(f"{row['model']} / {row['strategy']}: balanced accuracy "
                          f"{100 * row['balanced_accuracy']:.1f}%, tail recall {100 * row['tail_recall']:.1f}%")
    return {"run": str(run), "command": _command(run)}


def stage_embed(ctx: Context) -> dict[str, Any]:
    from artstyle.embed import EmbedTrainConfig, train_autoencoder

    run = train_autoencoder(EmbedTrainConfig(**{**ctx.settings["embed"], "out": str(ctx.stage_dir("embed"))}))
    m = read_json(run / "metrics.json")
    refined = m.get("autoencoder_refined")
    ctx.console.print(f"validation PSNR: autoencoder {m['autoencoder']['psnr']:.2f} dB"
                      + (f" ({refined['psnr']:.2f} dB with refined latents)" if refined else "")
                      + f", PCA {m['pca_baseline']['psnr']:.2f} dB ({m['latent_dim']} dimensions each)")
    return {"run": str(run), "command": _command(run)}


def stage_embeddings(ctx: Context) -> dict[str, Any]:
    from artstyle.embed import export_embeddings

    s = ctx.settings["embeddings"]
    kinds = list(dict.fromkeys(s.get("kinds", EMBEDDING_KINDS)))
    split = s.get("split", "all")
    out = ctx.stage_dir("embeddings")
    out.mkdir(parents=True, exist_ok=True)
    data = ctx.settings["data"]["data"]
    label_column = ctx.settings["data"].get("label_column", "style")  # maps and scores by the trained labels
    ae_run = Path(ctx.output("embed")["run"])
    runs = {"ae": ae_run, "ae-refined": ae_run, "ae-style": ae_run, "classifier": Path(ctx.output("classify")["run"])}
    size = ctx.settings["embed"]["size"]  # pixels and color-hist reuse the autoencoder's cache
    files, commands = {}, []
    for kind in kinds:
        run = runs.get(kind)
        path = export_embeddings(data, kind, run=run, split=split, out=out / f"{kind}.npz",
                                 size=None if run else size, batch_size=s.get("batch_size", 256),
                                 progress=ctx.cfg.progress, label_column=label_column)
        files[kind] = str(path)
        # An embeddings file is no run directory: its command is built here.
        commands.append(f"artstyle embed export --data {q(data)} --kind {kind}"
                        + (f" --run {q(run)}" if run else f" --size {size}") + f" --split {split} --out {q(path)}"
                        + (f" --label-column {q(label_column)}" if label_column != "style" else ""))
    ctx.console.print(f"{len(files)} embeddings files: {', '.join(files)}")
    return {"run": str(out), "files": files, "command": "\n".join(commands)}


def stage_cluster(ctx: Context) -> dict[str, Any]:
    from artstyle.cluster import ClusterConfig, cluster_embeddings, compare_embeddings
    from artstyle.metrics import cluster_answer

    s = ctx.settings["cluster"]
    files = ctx.output("embeddings")["files"]
    kind = "ae" if "ae" in files else next(iter(files))
    out = ctx.stage_dir("cluster")
    cfg = ClusterConfig(**{**s, "embeddings": files[kind], "out": str(out / kind)})
    run = cluster_embeddings(cfg)
    result = {"run": str(out), "runs": {"cluster": str(run)}, "command": _command(run)}
    if len(files) > 1:
        keys = ("methods", "n_clusters", "pca_dim", "split", "seed", "max_points_fit", "hdbscan_min_cluster_size")
        args = {k: getattr(cfg, k) for k in keys}
        cmp_run = compare_embeddings(list(files.values()), out=out / "compare", print_table=ctx.cfg.progress, **args)
        result["runs"]["compare"] = str(cmp_run)
        result["command"] += "\n" + _command(cmp_run)
        ctx.console.print(e(cluster_answer(read_json(cmp_run / "comparison.json"), None)))
    return result


def stage_stylize(ctx: Context) -> dict[str, Any]:
    from artstyle.stylize import StylizeConfig, train_stylizer

    values = {**ctx.settings["stylize"], "classifier": ctx.output("classify")["run"],
              "judge": ctx.output("judge")["run"], "out": str(ctx.stage_dir("stylize"))}
    if values.get("init_from") == "embed":  # Part 3 builds on Part 2: start from this pipeline's autoencoder
        values["init_from"] = ctx.output("embed").get("run", "")
        if not values["init_from"]:
            raise ArtstyleError("[stylize] init_from = \"embed\" starts the stylizer from the pipeline's autoencoder, "
                                "but the embed stage has no run; run that stage, or set [stylize] init_from = \"\"")
    run = train_stylizer(StylizeConfig(**values))
    ev = (read_json(run / "metrics.json") or {}).get("evaluation")
    if ev:
        m = ev["methods"]["stylizer"]
        ctx.console.print(f"judge hit rate on the target style {100 * m['hit_rate']:.1f}% (chance "
                          f"{100 * ev['chance_hit_rate']:.1f}%), SSIM to the input {m['ssim']:.3f}")
    return {"run": str(run), "command": _command(run)}


def stage_lora(ctx: Context) -> dict[str, Any]:
    from artstyle.lora import LoraGenerateConfig, LoraTrainConfig, generate, train_lora

    out = ctx.stage_dir("lora")
    run = train_lora(LoraTrainConfig(**{**ctx.settings["lora"], "out": str(out / "train")}))
    gen = dict(ctx.settings["generate"])
    if not gen.get("styles"):  # up to 4 styles spread over the list, so the grid shows contrasting ones
        classes = read_json(run / "classes.json")["classes"]
        step = max(1, len(classes) // 4)
        gen["styles"] = classes[::step][:4]
    gen_dir = generate(LoraGenerateConfig(**{**gen, "run": str(run)}))
    return {"run": str(run), "runs": {"train": str(run), "generate": str(gen_dir)},
            "command": _command(run) + "\n" + _command(gen_dir)}


def stage_report(ctx: Context) -> dict[str, Any]:
    from artstyle.report import write_report

    out = write_report([ctx.run], ctx.run)
    return {"run": str(out / "report.html"), "report_md": str(out / "report.md"),
            "command": f"artstyle report {q(ctx.run)}"}


def stage_needs(ctx: Context, key: str) -> tuple[str, ...]:
    """The stages whose outputs stage ``key`` reads with these settings: its table entry's, plus ``embed`` for a
    stylizer started from the pipeline's autoencoder (``[stylize] init_from = "embed"``)."""
    needs = STAGES[key].needs
    if key == "stylize" and ctx.settings["stylize"].get("init_from") == "embed":
        needs += ("embed",)
    return needs


def lora_wanted(ctx: Context) -> bool:
    return bool(ctx.cfg.pretrained or "pretrained" in ctx.settings["lora"])


def not_applicable(ctx: Context, key: str) -> str | None:
    """Why a stage does not apply to these settings (it is then skipped), or None."""
    if key == "strategies" and not ctx.settings["strategies"].get("strategies"):
        return "no strategies to compare in this profile ([strategies] strategies is empty)"
    if key == "lora" and not lora_wanted(ctx):
        return "no --pretrained model given"
    return None


@dataclass(frozen=True)
class Stage:
    """One row of the stage table."""

    title: str
    needs: tuple[str, ...]       # stages whose outputs it reads
    sections: tuple[str, ...]    # the settings sections its result depends on (its fingerprint)
    run: Callable[[Context], dict[str, Any]]


# The order is the run order.
STAGES: dict[str, Stage] = {
    "data": Stage("prepare the cache", (), ("data",), stage_data),
    "stats": Stage("dataset statistics", ("data",), ("data",), stage_stats),
    "classify": Stage("classifier", ("data",), ("classify",), stage_classify),
    "judge": Stage("second classifier (the stylizer's judge)", ("data",), ("judge",), stage_judge),
    "strategies": Stage("imbalance strategies compared", ("data",), ("strategies",), stage_strategies),
    "embed": Stage("autoencoder", ("data",), ("embed",), stage_embed),
    "embeddings": Stage("embeddings", ("classify", "embed"), ("embeddings",), stage_embeddings),
    "cluster": Stage("clustering and maps", ("embeddings",), ("cluster",), stage_cluster),
    "stylize": Stage("stylizer", ("classify", "judge"), ("stylize",), stage_stylize),
    "lora": Stage("LoRA", ("data",), ("lora", "generate"), stage_lora),
    "report": Stage("report", ("data", "stats", "classify", "judge", "strategies", "embed", "embeddings", "cluster",
                               "stylize", "lora"), (), stage_report),
}
STAGE_KEYS = tuple(STAGES)

__all__ = ["STAGES", "STAGE_KEYS", "Stage", "not_applicable", "stage_needs"]
