"""The report: ``report.md`` and a self-contained ``report.html`` written from run directories alone.

Usage::

    write_report([Path("runs/pipeline/<ts>-demo")])                 # into the pipeline directory
    write_report([stats_run, classify_run, embed_run, cluster_run], out=Path("my-report"))
    artstyle report RUN... [--out DIR]

It reads run directories (``config.json``, ``metrics.json``, ``comparison.json``, ``stats.json``, figures)
and never trains or evaluates anything. A pipeline directory is expanded through its ``pipeline.json``;
individual stage runs are recognised by their files. Sections: the dataset, the classifier, the
autoencoder, clustering, stylization, LoRA and the environment; a stage that was not run gets one line
saying so. Every sentence that draws a conclusion (e.g. "do styles cluster?") is computed from the numbers.
In the HTML every figure is embedded as a base64 PNG, so the file can be mailed or archived on its own.
"""

from __future__ import annotations

import base64
import html
import math
import os
import platform
import re
import shlex
import time
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path
from typing import Any, Sequence

from artstyle.errors import ArtstyleError

SECTION_TITLES = ("The dataset", "The classifier", "The autoencoder", "Clustering", "Stylization", "LoRA",
                  "The environment")
PACKAGES = ("artstyle", "torch", "torchvision", "numpy", "scikit-learn", "umap-learn", "scipy", "accelerate",
            "diffusers", "transformers", "peft", "datasets", "pillow", "matplotlib", "safetensors")
CLASSIFIER_ARCHS = ("resnet", "simple-cnn", "inclass")

# ---------------------------------------------------------------- environment and commands


def collect_environment() -> dict[str, Any]:
    """Python, OS, CPU, accelerator and package versions of this process."""
    from importlib import metadata

    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    env: dict[str, Any] = {"python": platform.python_version(), "platform": platform.platform(),
                           "machine": platform.machine(), "cpu_count": os.cpu_count(), "packages": versions,
                           "recorded": time.strftime("%Y-%m-%dT%H:%M:%S"),
                           # `artstyle --threads N` takes effect when training starts, after this is recorded
                           "threads_setting": int(os.environ.get("ARTSTYLE_THREADS") or 0) or None}
    try:
        import torch

        env["torch_threads"] = torch.get_num_threads()
        if torch.cuda.is_available():
            env["device"] = f"cuda: {torch.cuda.get_device_name(0)} (x{torch.cuda.device_count()})"
        elif getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            env["device"] = "mps"
        else:
            env["device"] = "cpu"
    except ImportError:
        env["device"] = "unknown (torch is not importable)"
    return env


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _cli_flags(values: dict[str, Any], cls: type | None, drop: Sequence[str] = ()) -> list[str]:
    """CLI flags for the fields of ``values`` that differ from ``cls``'s defaults (all of them without ``cls``)."""
    defaults: dict[str, Any] = {}
    order = list(values)
    if cls is not None:
        order = [f.name for f in fields(cls)]
        for f in fields(cls):
            if f.default is not MISSING:
                defaults[f.name] = f.default
            elif f.default_factory is not MISSING:  # type: ignore[misc]
                defaults[f.name] = f.default_factory()  # type: ignore[misc]
    out: list[str] = []
    order = [n for n in ("data", "size") if n in order] + [n for n in order if n not in ("data", "size")]
    for name in order:
        if name in drop or name not in values:
            continue
        v = values[name]
        if name in defaults and v == defaults[name]:
            continue
        if v is None:
            continue
        if isinstance(v, bool):
            out.append(_flag(name) if v else f"--no-{name.replace('_', '-')}")
        elif isinstance(v, (list, tuple)):
            out += [_flag(name), shlex.quote(",".join(map(str, v)))]
        else:
            out += [_flag(name), shlex.quote(str(v))]
    return out


def _config_class(kind: str) -> type | None:
    """The config dataclass of a stage kind, or None when its module cannot be imported."""
    try:
        if kind in ("classify", "strategies"):
            from artstyle.classify import ClassifyConfig

            return ClassifyConfig
        if kind == "embed":
            from artstyle.embed import EmbedTrainConfig

            return EmbedTrainConfig
        if kind == "stylize":
            from artstyle.stylize import StylizeConfig

            return StylizeConfig
        if kind == "cluster":
            from artstyle.cluster import ClusterConfig

            return ClusterConfig
        if kind == "lora":
            from artstyle.lora import LoraTrainConfig

            return LoraTrainConfig
    except ImportError:
        return None
    return None


_NOT_REPRODUCED = ("out", "overwrite", "resume", "progress", "cache")


def stage_command(run: str | Path) -> str:
    """The ``artstyle`` command that reproduces a stage run, from its saved config (``--out`` left out)."""
    from artstyle.runs import read_json

    run = Path(run)
    kind = run_kind(run)
    q = shlex.quote
    if kind == "stats":
        st = read_json(run / "stats.json")
        return f"artstyle data stats --data {q(st['source'])} --size {st['size']}"
    if kind == "strategies":
        cmp = read_json(run / "comparison.json")
        rows = cmp.get("rows", [])
        strategies = list(dict.fromkeys(r["strategy"] for r in rows))
        models = list(dict.fromkeys(r["model"] for r in rows))
        seeds = max(1, len(rows) // max(1, len(strategies) * len(models)))
        flags = _cli_flags(cmp.get("config", {}), _config_class("strategies"), _NOT_REPRODUCED + ("name", "model"))
        return " ".join(["artstyle classify compare", *flags, "--strategies", q(",".join(strategies)), "--seeds",
                         str(seeds), "--models", q(",".join(models))])
    if kind == "cluster-compare":
        cmp = read_json(run / "comparison.json")
        files = " ".join(q(r["file"]) for r in cmp.get("rows", []))
        return (f"artstyle cluster compare {files} --methods {q(','.join(cmp['methods']))} --split {q(cmp['split'])} "
                f"--pca-dim {cmp['pca_dim']} --seed {cmp['seed']}")
    if kind == "lora-generate":
        g = read_json(run / "generate.json")
        seeds = g.get("seeds", [0])
        compare = any(f.endswith("-compare.png") for f in g.get("files", []))
        return " ".join(["artstyle lora generate", q(g["run"]), "--styles", q(",".join(g.get("prompts", {}))),
                         "--n", str(len(seeds)), "--seed", str(seeds[0] if seeds else 0), "--steps", str(g["steps"]),
                         "--guidance", f"{g['guidance']:g}", "--lora-scale", f"{g['lora_scale']:g}"]
                        + (["--compare"] if compare else []))
    if kind == "cluster":
        c = read_json(run / "config.json")
        flags = _cli_flags(c, _config_class("cluster"), _NOT_REPRODUCED + ("embeddings", "n_clusters"))
        return " ".join(["artstyle cluster fit", q(c["embeddings"]), *flags])
    if kind in ("classify", "embed", "stylize", "lora"):
        c = read_json(run / "config.json")
        values = dict(c.get("config", {}))
        if kind == "stylize":  # the classifier and judge the run used, wherever they came from
            values["classifier"] = c.get("classifier", {}).get("run", values.get("classifier", ""))
            values["judge"] = c.get("judge", {}).get("run", values.get("judge", ""))
        sub = {"classify": "classify train", "embed": "embed train", "stylize": "stylize train",
               "lora": "lora train"}[kind]
        return " ".join([f"artstyle {sub}", *_cli_flags(values, _config_class(kind), _NOT_REPRODUCED)])
    raise ArtstyleError(f"{run}: no command is known for a {kind} run")


# ---------------------------------------------------------------- finding the runs


def run_kind(path: str | Path) -> str:
    """What an artstyle run directory (or file) is: pipeline, stats, classify, strategies, embed, embeddings,
    cluster, cluster-compare, stylize, lora or lora-generate."""
    from artstyle.runs import read_json

    path = Path(path)
    if path.is_file() and path.suffix == ".npz":
        return "embeddings"
    if not path.is_dir():
        raise ArtstyleError(f"{path} does not exist or is not a run directory")
    if (path / "pipeline.json").is_file():
        return "pipeline"
    if (path / "stats.json").is_file():
        return "stats"
    if (path / "comparison.json").is_file():
        cmp = read_json(path / "comparison.json")
        rows = cmp.get("rows", [])
        if (rows and "strategy" in rows[0]) or "summary" in cmp:
            return "strategies"
        return "cluster-compare"
    if (path / "generate.json").is_file():
        return "lora-generate"
    if (path / "config.json").is_file():
        c = read_json(path / "config.json")
        model = c.get("model", {}) if isinstance(c.get("model"), dict) else {}
        if "classifier" in c and "judge" in c:
            return "stylize"
        if "latent_dim" in model:
            return "embed"
        if model.get("arch") in CLASSIFIER_ARCHS:
            return "classify"
        if isinstance(c.get("config"), dict) and "pretrained" in c["config"] and "rank" in c["config"]:
            return "lora"
        if "embeddings" in c and "methods" in c:
            return "cluster"
    raise ArtstyleError(f"{path} is not an artstyle run directory I can report on (expected a pipeline, data stats, "
                        "classify, embed, cluster, stylize or lora run)")


@dataclass
class Found:
    """The runs a report is made of (None / empty when a stage was not given or not run)."""

    pipeline: Path | None = None
    state: dict[str, Any] | None = None
    stats: Path | None = None
    classify: Path | None = None
    judge: Path | None = None
    other_classifiers: list[Path] = field(default_factory=list)
    strategies: Path | None = None
    embed: Path | None = None
    embeddings: list[Path] = field(default_factory=list)
    cluster: Path | None = None
    cluster_compare: Path | None = None
    stylize: Path | None = None
    lora: list[Path] = field(default_factory=list)
    lora_generate: list[Path] = field(default_factory=list)
    ignored: list[Path] = field(default_factory=list)


def find_runs(paths: Sequence[str | Path]) -> Found:
    """Sort the given runs by kind; a pipeline directory contributes every stage it completed."""
    from artstyle.runs import read_json

    if not paths:
        raise ArtstyleError("give at least one run directory: a pipeline (runs/pipeline/<ts>-<profile>) or stage runs")
    found = Found()
    classifiers: list[Path] = []

    def take(slot: str, p: Path) -> None:
        if getattr(found, slot) is None:
            setattr(found, slot, p)
        else:
            found.ignored.append(p)

    for raw in paths:
        p = Path(raw)
        kind = run_kind(p)
        if kind == "pipeline":
            if found.pipeline is not None:
                found.ignored.append(p)
                continue
            found.pipeline, found.state = p, read_json(p / "pipeline.json")
            stages = {k: v for k, v in found.state.get("stages", {}).items() if v.get("status") == "done"}

            def stage_run(key: str, sub: str | None = None) -> Path | None:
                rec = stages.get(key)
                if not rec:
                    return None
                value = rec.get("runs", {}).get(sub) if sub else rec.get("run")
                return _relocate(value, p) if value else None

            for slot, key, sub in (("stats", "stats", None), ("strategies", "strategies", None),
                                   ("embed", "embed", None), ("cluster", "cluster", "cluster"),
                                   ("cluster_compare", "cluster", "compare"), ("stylize", "stylize", None)):
                r = stage_run(key, sub)
                if r is not None:
                    take(slot, r)
            for key, slot in (("classify", "classify"), ("judge", "judge")):
                r = stage_run(key)
                if r is not None:
                    take(slot, r)
            for f in stages.get("embeddings", {}).get("files", {}).values():
                if _relocate(f, p) is not None:
                    found.embeddings.append(_relocate(f, p))
            for sub, target in (("train", found.lora), ("generate", found.lora_generate)):
                r = stage_run("lora", sub)
                if r is not None:
                    target.append(r)
        elif kind == "classify":
            classifiers.append(p)
        elif kind == "embeddings":
            found.embeddings.append(p)
        elif kind == "lora":
            found.lora.append(p)
            gen = p / "figures" / "generate"
            if (gen / "generate.json").is_file():
                found.lora_generate.append(gen)
        elif kind == "lora-generate":
            found.lora_generate.append(p)
        else:
            take({"cluster-compare": "cluster_compare"}.get(kind, kind), p)
    # Individual classify runs: the stylizer's judge is the one its config names; the first other is "the" classifier.
    judge_path = None
    if found.stylize is not None and found.judge is None:
        judge_path = read_json(found.stylize / "config.json").get("judge", {}).get("run") or None
    for p in classifiers:
        if judge_path and found.judge is None and _same(p, judge_path):
            found.judge = p
        elif found.classify is None:
            found.classify = p
        else:
            found.other_classifiers.append(p)
    return found


def _relocate(recorded: str, pipeline: Path) -> Path | None:
    """A stage run recorded in pipeline.json, inside the given pipeline directory when it was moved or copied."""
    path = Path(recorded)
    parts = path.parts
    if "stages" in parts:  # stage runs live under <pipeline>/stages/; the cache (the data stage) lives elsewhere
        here = pipeline.joinpath(*parts[len(parts) - 1 - parts[::-1].index("stages"):])
        if here.exists():
            return here
    return path if path.exists() else None


def _same(a: str | Path, b: str | Path) -> bool:
    try:
        return Path(a).resolve() == Path(b).resolve()
    except OSError:
        return False


# ---------------------------------------------------------------- the document model


@dataclass
class Doc:
    """Blocks rendered both as Markdown and as HTML: ("h", level, text, anchor), ("p", text), ("table", head,
    rows), ("fig", path, caption), ("banner", text), ("code", text), ("note", text)."""

    blocks: list[tuple] = field(default_factory=list)

    def h(self, level: int, text: str) -> None:
        self.blocks.append(("h", level, text, re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")))

    def p(self, text: str) -> None:
        self.blocks.append(("p", text))

    def note(self, text: str) -> None:
        self.blocks.append(("note", text))

    def table(self, head: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        self.blocks.append(("table", list(head), [[str(c) for c in r] for r in rows]))

    def fig(self, path: Path | None, caption: str) -> None:
        if path is not None and Path(path).is_file():
            self.blocks.append(("fig", Path(path), caption))

    def banner(self, text: str) -> None:
        self.blocks.append(("banner", text))

    def code(self, text: str) -> None:
        self.blocks.append(("code", text))

    # -------- Markdown

    def markdown(self, out_dir: Path) -> str:
        lines: list[str] = []
        for b in self.blocks:
            kind = b[0]
            if kind == "h":
                lines += ["#" * b[1] + " " + b[2], ""]
            elif kind == "p":
                lines += [b[1], ""]
            elif kind == "note":
                lines += [f"*{b[1]}*", ""]
            elif kind == "banner":
                lines += [f"> **{b[1]}**", ""]
            elif kind == "code":
                lines += ["```sh", b[1], "```", ""]
            elif kind == "table":
                esc = [[c.replace("|", "\\|") for c in row] for row in [b[1], *b[2]]]
                lines.append("| " + " | ".join(esc[0]) + " |")
                lines.append("|" + "---|" * len(esc[0]))
                lines += ["| " + " | ".join(r) + " |" for r in esc[1:]]
                lines.append("")
            elif kind == "fig":
                rel = Path(os.path.relpath(b[1], out_dir)).as_posix()
                lines += [f"![{b[2]}]({rel})", f"*{b[2]}*", ""]
        return "\n".join(lines).rstrip() + "\n"

    # -------- HTML

    def html(self, title: str) -> str:
        toc = "".join(f'<li><a href="#{b[3]}">{html.escape(b[2])}</a></li>' for b in self.blocks
                      if b[0] == "h" and b[1] == 2)
        body: list[str] = []
        for b in self.blocks:
            kind = b[0]
            if kind == "h":
                body.append(f'<h{b[1]} id="{b[3]}">{_inline(b[2])}</h{b[1]}>')
                if b[1] == 1 and toc:
                    body.append(f'<nav><ul>{toc}</ul></nav>')
            elif kind == "p":
                body.append(f"<p>{_inline(b[1])}</p>")
            elif kind == "note":
                body.append(f'<p class="note">{_inline(b[1])}</p>')
            elif kind == "banner":
                body.append(f'<div class="banner">{_inline(b[1])}</div>')
            elif kind == "code":
                body.append(f"<pre><code>{html.escape(b[1])}</code></pre>")
            elif kind == "table":
                head = "".join(f"<th>{_inline(c)}</th>" for c in b[1])
                rows = "".join("<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in r) + "</tr>" for r in b[2])
                body.append(f'<div class="table"><table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody>'
                            "</table></div>")
            elif kind == "fig":
                data = base64.b64encode(b[1].read_bytes()).decode("ascii")
                body.append(f'<figure><img src="data:image/png;base64,{data}" alt="{html.escape(b[2], quote=True)}">'
                            f"<figcaption>{_inline(b[2])}</figcaption></figure>")
        return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
                f'<meta name="viewport" content="width=device-width, initial-scale=1">'
                f"<title>{html.escape(title)}</title><style>{_CSS}</style></head>\n<body><main>\n"
                + "\n".join(body) + "\n</main></body></html>\n")


_CSS = """
body{margin:0;background:#f6f6f4;color:#222;font:15px/1.55 -apple-system,BlinkMacSystemFont,"Segoe UI",Roboto,
Helvetica,Arial,sans-serif}
main{max-width:1040px;margin:0 auto;padding:24px 28px 60px;background:#fff;box-shadow:0 0 12px rgba(0,0,0,.06)}
h1{font-size:28px;margin:8px 0 4px}h2{font-size:22px;margin:36px 0 8px;padding-top:12px;border-top:2px solid #e4e4e0}
h3{font-size:17px;margin:22px 0 6px}
nav ul{list-style:none;padding:0;margin:8px 0 16px;display:flex;flex-wrap:wrap;gap:6px 16px}
nav a{color:#2a5d9f;text-decoration:none}nav a:hover{text-decoration:underline}
.banner{background:#b00020;color:#fff;padding:10px 14px;border-radius:6px;font-weight:600;margin:12px 0}
.note{color:#666;font-size:13px}
.table{overflow-x:auto}
table{border-collapse:collapse;margin:8px 0 14px;font-size:13.5px}
th,td{border-bottom:1px solid #e2e2de;padding:4px 10px;text-align:left;white-space:nowrap}
th{background:#f0f0ec;font-weight:600}tbody tr:nth-child(even){background:#fafaf8}
td:not(:first-child){font-variant-numeric:tabular-nums}
figure{margin:12px 0 20px}figure img{max-width:100%;height:auto;border:1px solid #e2e2de}
figcaption{color:#555;font-size:13px;margin-top:4px}
pre{background:#f3f3f0;padding:10px 12px;overflow-x:auto;font-size:12.5px;border-radius:4px}
code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.92em}
"""


def _inline(text: str) -> str:
    """HTML-escape, then render the Markdown inline bits the report uses: **bold** and `code`."""
    out = html.escape(text, quote=False)
    out = re.sub(r"`([^`]+)`", r"<code>\1</code>", out)
    return re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", out)


# ---------------------------------------------------------------- formatting helpers


def _num(x: Any) -> bool:
    return isinstance(x, (int, float)) and not (isinstance(x, float) and math.isnan(x))


def pct(x: Any, digits: int = 1) -> str:
    return f"{100 * x:.{digits}f}%" if _num(x) else "-"


def f3(x: Any) -> str:
    return f"{x:.3f}" if _num(x) else "-"


def _read(path: Path) -> Any:
    from artstyle.runs import read_json

    return read_json(path)


def _display(name: str) -> str:
    from artstyle.styles import display_name

    return display_name(name)


def _secs(x: Any) -> str:
    if not _num(x):
        return "-"
    return f"{x:.1f} s" if x < 10 else f"{x:.0f} s" if x < 120 else f"{x / 60:.1f} min"


def _training_line(t: dict[str, Any] | None) -> str:
    if not t:
        return ""
    parts = [f"{t.get('epochs_run', '?')} epoch(s)"]
    if t.get("best_epoch") is not None:
        parts.append(f"best epoch {t['best_epoch']} by validation {str(t.get('monitor', '')).replace('_', ' ')}")
    if t.get("stopped"):
        parts.append(f"stopped: {t['stopped']}")
    if _num(t.get("train_seconds")):
        parts.append(f"{_secs(t['train_seconds'])} of training")
    return "Training: " + "; ".join(parts) + "."


# ---------------------------------------------------------------- sections


def _section_dataset(doc: Doc, f: Found) -> None:
    doc.h(2, "The dataset")
    if f.stats is None:
        doc.p("Not run: no `artstyle data stats` run was given (the pipeline's `stats` stage did not complete).")
        return
    st = _read(f.stats / "stats.json")
    kind = ("**SYNTHETIC**: artstyle's built-in procedurally painted stand-in for WikiArt (27 procedural painters "
            "with the course copy's class proportions), not real paintings" if st["synthetic"] else "real images")
    doc.p(f"Source: `{st['source']}`, {kind}. Images were decoded once and resized to {st['size']} px.")
    totals = ", ".join(f"{k} {v:,}" for k, v in st["totals"].items())
    doc.p(f"{st['cached']:,} images ({totals}) of {len(st['classes'])} styles; {st['found']:,} files found, "
          f"{st['skipped']:,} skipped. The largest training style ({_display(st['majority_class'] or '-')}) has "
          f"{st['imbalance_ratio']:.0f} times as many images as the smallest."
          + (f" Styles without training images: {', '.join(map(_display, st['classes_without_train_images']))}."
             if st.get("classes_without_train_images") else ""))
    splits = list(st["counts"])
    train = st["counts"].get("train", {})
    total_train = max(1, sum(train.values()))
    rows = []
    for c in sorted(st["classes"], key=lambda c: (-train.get(c, 0), c)):
        rows.append([_display(c), *[f"{st['counts'][s].get(c, 0):,}" for s in splits],
                     pct(train.get(c, 0) / total_train)])
    rows.append(["**total**", *[f"**{st['totals'][s]:,}**" for s in splits], "100.0%"])
    doc.h(3, "Class distribution")
    doc.table(["style", *splits, "share of train"], rows)
    doc.fig(f.stats / "figures" / "class_counts.png", "Images per style (log scale)")
    doc.fig(f.stats / "figures" / "samples.png", "Random training images, one row per style")


def _classifier_results_table(doc: Doc, m: dict[str, Any]) -> None:
    b = m["baselines"]
    top = next((k for k in m if k.startswith("top") and k.endswith("_accuracy")), None)
    rows = [["accuracy", pct(m["accuracy"]), pct(b["majority_accuracy"]), pct(b["chance_accuracy"])],
            ["balanced accuracy", pct(m["balanced_accuracy"]), pct(b["majority_balanced_accuracy"]),
             pct(b["chance_balanced_accuracy"])],
            ["macro-F1", pct(m["macro_f1"]), pct(b["majority_macro_f1"]), "-"]]
    if top:
        rows.append([top.replace("_", " ").replace("top", "top-"), pct(m[top]), "-", "-"])
    doc.table(["metric (test split)", "model", f"majority class ({_display(b['majority_class'])})", "chance"], rows)


def _section_classifier(doc: Doc, f: Found) -> None:
    doc.h(2, "The classifier")
    if f.classify is None:
        doc.p("Not run: no `artstyle classify train` run was given (the pipeline's `classify` stage did not complete).")
    else:
        c = _read(f.classify / "config.json")
        m = _read(f.classify / "metrics.json")
        cfg = c.get("config", {})
        model = c.get("model", {})
        doc.p(f"A `{model.get('arch')}` (width {model.get('width')}, depth {model.get('depth')}) trained from scratch "
              f"at {model.get('img_size')} px with the `{cfg.get('imbalance')}` imbalance strategy, evaluated on "
              f"{m['n']:,} test images. {_training_line(m.get('training'))}")
        _classifier_results_table(doc, m)
        beat = m["balanced_accuracy"] - m["baselines"]["chance_balanced_accuracy"]
        doc.p(f"Balanced accuracy is {abs(100 * beat):.1f} points {'above' if beat >= 0 else 'below'} chance, and "
              f"accuracy is {abs(100 * (m['accuracy'] - m['baselines']['majority_accuracy'])):.1f} points "
              f"{'above' if m['accuracy'] >= m['baselines']['majority_accuracy'] else 'below'} always answering the "
              f"majority class. With imbalanced classes, balanced accuracy and macro-F1 are the numbers to read.")
        doc.fig(f.classify / "figures" / "confusion.png", "Confusion matrix on the test split (rows normalised)")
        doc.h(3, "Head, medium and tail styles")
        doc.p("Styles are split into thirds by their number of training images; the thresholds are in the table.")
        rows = []
        for g in ("head", "medium", "tail"):
            v = m["groups"].get(g, {})
            rows.append([g, v.get("threshold", ""), len(v.get("classes", [])), f"{v.get('n', 0):,}",
                         pct(v.get("accuracy")), pct(v.get("mean_recall"))])
        doc.table(["group", "threshold", "styles", "test images", "accuracy", "mean recall"], rows)
        doc.h(3, "Per style")
        per = m["per_class"]
        rows = [[_display(k), f"{v['train_count']:,}", f"{v['support']:,}", pct(v["precision"]), pct(v["recall"]),
                 pct(v["f1"])] for k, v in sorted(per.items(), key=lambda kv: (-kv[1]["train_count"], kv[0]))]
        doc.table(["style", "train images", "test images", "precision", "recall", "F1"], rows)
    if f.strategies is not None:
        _strategies(doc, f.strategies)
    else:
        doc.note("No comparison of imbalance strategies was run.")
    extra = [("The second classifier (the stylizer's judge)", f.judge)] if f.judge else []
    extra += [(f"Another classifier: {p.name}", p) for p in f.other_classifiers]
    for title, run in extra:
        c = _read(run / "config.json")
        m = _read(run / "metrics.json")
        model = c.get("model", {})
        doc.h(3, title)
        doc.p(f"A `{model.get('arch')}` (width {model.get('width')}, seed {c.get('config', {}).get('seed')}) trained "
              f"independently of the first, so a stylizer that fools its loss classifier does not fool it for free. "
              f"{_training_line(m.get('training'))}")
        _classifier_results_table(doc, m)


def _strategies(doc: Doc, run: Path) -> None:
    cmp = _read(run / "comparison.json")
    summary, rows = cmp.get("summary", []), cmp.get("rows", [])
    doc.h(3, "Imbalance strategies compared")
    seeds = max((e.get("seeds", 1) for e in summary), default=1)
    doc.p(f"Each strategy trained with the same settings and budget; mean ± standard deviation over {seeds} "
          f"seed(s), on the test split." + (" With one seed there are no error bars: differences of a few points "
                                           "may be noise." if seeds == 1 else ""))
    table = []
    for e in summary:
        def ms(k: str) -> str:
            return f"{pct(e[k])} ± {100 * e.get(k + '_std', 0):.1f}" if seeds > 1 else pct(e[k])

        table.append([e["model"], e["strategy"], ms("accuracy"), ms("balanced_accuracy"), ms("macro_f1"),
                      ms("tail_recall"), _secs(e.get("train_seconds"))])
    doc.table(["model", "strategy", "accuracy", "balanced accuracy", "macro-F1", "tail recall", "train time"], table)
    if summary:
        best = max(summary, key=lambda e: e["balanced_accuracy"])
        worst = min(summary, key=lambda e: e["balanced_accuracy"])
        ref = rows[0] if rows else {}
        gap = best["balanced_accuracy"] - worst["balanced_accuracy"]

        def name(e: dict) -> str:
            return f"`{e['strategy']}`" if len({x["model"] for x in summary}) == 1 else f"`{e['model']}` / `{e['strategy']}`"

        lead = (f"Every strategy reaches the same balanced accuracy ({pct(best['balanced_accuracy'])})" if gap < 5e-4
                else f"Best balanced accuracy: {name(best)} ({pct(best['balanced_accuracy'])}), {100 * gap:.1f} points "
                     f"above the weakest ({name(worst)})")
        doc.p(f"{lead}; the majority-class baseline scores accuracy {pct(ref.get('majority_accuracy'))} and balanced "
              f"accuracy {pct(ref.get('chance_balanced_accuracy'))}.")
    doc.fig(run / "figures" / "comparison.png", "Imbalance strategies: accuracy, balanced accuracy and macro-F1")


def _section_autoencoder(doc: Doc, f: Found) -> None:
    doc.h(2, "The autoencoder")
    if f.embed is None:
        doc.p("Not run: no `artstyle embed train` run was given (the pipeline's `embed` stage did not complete).")
        return
    c = _read(f.embed / "config.json")
    m = _read(f.embed / "metrics.json")
    ae, pca = m["autoencoder"], m["pca_baseline"]
    size, d = m.get("size", c.get("model", {}).get("img_size")), m["latent_dim"]
    ratio = (size * size * 3 / d) if _num(size) and d else float("nan")
    doc.p(f"A convolutional autoencoder trained from scratch compresses each {size} px image to {d} numbers "
          f"({ratio:.0f}x fewer than its pixels), with the `{m.get('loss')}` loss. It is compared with PCA keeping "
          f"the same number of dimensions ({pca.get('components')} components fitted on {pca.get('fit_images'):,} "
          f"training images, {pct(pca.get('explained_variance'))} of the pixel variance), on the same "
          f"{m['n_images']:,} {m['split']} images. {_training_line(m.get('training'))}")
    doc.table(["metric", "autoencoder", f"PCA ({pca.get('components')} components)", "better"],
              [["PSNR (dB, higher is better)", f"{ae['psnr']:.2f}", f"{pca['psnr']:.2f}",
                "autoencoder" if ae["psnr"] > pca["psnr"] else "PCA"],
               ["SSIM (higher is better)", f"{ae['ssim']:.4f}", f"{pca['ssim']:.4f}",
                "autoencoder" if ae["ssim"] > pca["ssim"] else "PCA"],
               ["MSE (lower is better)", f"{ae['mse']:.5f}", f"{pca['mse']:.5f}",
                "autoencoder" if ae["mse"] < pca["mse"] else "PCA"]])
    diff = ae["psnr"] - pca["psnr"]
    doc.p(f"The autoencoder reconstructs {abs(diff):.2f} dB {'better' if diff > 0 else 'worse'} than PCA in PSNR "
          f"and {'better' if ae['ssim'] > pca['ssim'] else 'worse'} in SSIM ({ae['ssim']:.3f} vs {pca['ssim']:.3f}).")
    doc.fig(f.embed / "figures" / "learning_curves.png", "Learning curves: training and validation loss, validation PSNR")
    doc.fig(f.embed / "figures" / "pca_vs_ae.png", "Validation images: originals, autoencoder and PCA reconstructions")
    doc.fig(f.embed / "figures" / "reconstructions.png", "Reconstructions after the last epoch")


def _entries(comparison: dict[str, Any] | None, cluster: dict[str, Any] | None) -> tuple[list[dict], list[dict]]:
    """Normalise to ([{label, kind, methods}], [{label, rows, scores}])."""
    if comparison and comparison.get("rows"):
        return ([{"label": r["label"], "kind": r["kind"], "methods": r["methods"]} for r in comparison["rows"]],
                comparison.get("chance", []))
    if cluster and cluster.get("methods"):
        label = cluster.get("kind", "embeddings")
        return ([{"label": label, "kind": label, "methods": cluster["methods"]}],
                [{"label": "chance (random labelling)", "rows": [label], "scores": cluster.get("chance", {})}])
    return [], []


def cluster_answer(comparison: dict[str, Any] | None, cluster: dict[str, Any] | None = None,
                   synthetic: bool | None = None) -> str:
    """One sentence answering "do styles cluster?" from the scores: the best unsupervised clustering against
    the random-labelling chance row, the other representations, and classifier features as a reference."""
    entries, chance = _entries(comparison, cluster)
    if not entries:
        return "Do styles cluster? There are no clustering scores to answer from."
    if synthetic is None:
        synthetic = bool((comparison or {}).get("synthetic") or (cluster or {}).get("synthetic"))

    def best(e: dict) -> tuple[str, dict]:
        method = max(e["methods"], key=lambda k: e["methods"][k].get("ari", float("-inf")))
        return method, e["methods"][method]

    def chance_for(e: dict) -> dict:
        for c in chance:
            if e["label"] in c.get("rows", []):
                return c["scores"]
        return chance[0]["scores"] if chance else {"ari": 0.0, "nmi": float("nan")}

    unsupervised = [e for e in entries if e["kind"] != "classifier"] or entries
    top = max(unsupervised, key=lambda e: best(e)[1]["ari"])
    method, sc = best(top)
    ch = chance_for(top)
    margin = sc["ari"] - ch.get("ari", 0.0)
    verdict = ("No" if margin < 0.02 else "Barely" if margin < 0.1 else "Weakly" if margin < 0.3
               else "Yes, clearly" if margin < 0.6 else "Yes, strongly")
    kind = "unsupervised " if top["kind"] != "classifier" else ""
    text = (f"Do styles cluster? {verdict}: the best {kind}clustering ({method} on {top['label']} features) matches "
            f"the styles with ARI {sc['ari']:.3f} and NMI {sc['nmi']:.3f}, against {ch.get('ari', 0.0):.3f} and "
            f"{f3(ch.get('nmi'))} for a random labelling")
    others = [e for e in unsupervised if e is not top]
    if others:
        text += "; " + ", ".join(f"{e['label']} reaches ARI {best(e)[1]['ari']:.3f}" for e in
                                  sorted(others, key=lambda e: -best(e)[1]["ari"]))
    supervised = [e for e in entries if e["kind"] == "classifier" and e is not top]
    if supervised:
        text += (f", while the classifier's features, learned from the style labels, reach ARI "
                 f"{best(supervised[0])[1]['ari']:.3f}")
    return text + (" (on synthetic data)." if synthetic else ".")


def _section_clustering(doc: Doc, f: Found) -> None:
    doc.h(2, "Clustering")
    if f.cluster is None and f.cluster_compare is None:
        doc.p("Not run: no `artstyle cluster` run was given (the pipeline's `cluster` stage did not complete).")
        return
    cmp = _read(f.cluster_compare / "comparison.json") if f.cluster_compare else None
    cl = _read(f.cluster / "metrics.json") if f.cluster else None
    doc.p("**" + cluster_answer(cmp, cl) + "**")
    doc.p("ARI (adjusted Rand index) is 0 for a random labelling and 1 when the clusters are exactly the styles; NMI "
          "is the mutual information of clusters and styles, normalised; purity is the share of images in their "
          "cluster's majority style (high by chance when one style dominates, hence the chance rows). Every "
          "representation is standardised and reduced with PCA before clustering, into as many clusters as styles "
          "(HDBSCAN picks its own number; its noise counts as one cluster).")
    if cmp:
        doc.h(3, "Representations compared")
        n = cmp["rows"][0]["n_points"] if cmp.get("rows") else 0
        doc.p(f"{n:,} images ({cmp.get('split')} split), PCA to {cmp.get('pca_dim')} dimensions, seed "
              f"{cmp.get('seed')}. The classifier's features were learned with the style labels; the others were not.")
        rows = []
        for r in cmp["rows"]:
            for i, (method, sc) in enumerate(r["methods"].items()):
                rows.append([f"{r['label']} ({r['dim']}-d)" if i == 0 else "", method, f3(sc.get("ari")),
                             f3(sc.get("nmi")), f3(sc.get("purity")), f3(sc.get("silhouette")), sc.get("n_clusters", "")])
        for c in cmp.get("chance", []):
            sc = c["scores"]
            rows.append([c["label"], "random", f3(sc.get("ari")), f3(sc.get("nmi")), f3(sc.get("purity")), "-",
                         sc.get("n_clusters", "")])
        doc.table(["representation", "method", "ARI", "NMI", "purity", "silhouette", "clusters"], rows)
        doc.fig(f.cluster_compare / "figures" / "comparison.png", "Clusters against true styles, per representation")
    if cl:
        doc.h(3, f"The {cl.get('kind')} embeddings: scores and maps")
        doc.p(f"{cl['n_points']:,} images ({cl.get('split')} split), {cl['dim']}-d vectors reduced to "
              f"{cl.get('features_dim')} dimensions, {cl['n_clusters']} clusters for {cl.get('n_classes_present')} "
              f"styles present.")
        rows = [[method, f3(sc.get("ari")), f3(sc.get("nmi")), f3(sc.get("homogeneity")), f3(sc.get("completeness")),
                 f3(sc.get("purity")), f3(sc.get("silhouette")), sc.get("n_clusters", ""), _secs(sc.get("seconds"))]
                for method, sc in cl["methods"].items()]
        ch = cl.get("chance", {})
        rows.append(["chance (random labelling)", f3(ch.get("ari")), f3(ch.get("nmi")), f3(ch.get("homogeneity")),
                     f3(ch.get("completeness")), f3(ch.get("purity")), "-", ch.get("n_clusters", ""), "-"])
        doc.table(["method", "ARI", "NMI", "homogeneity", "completeness", "purity", "silhouette", "clusters", "time"],
                  rows)
        titles = {"pca": "PCA", "tsne": "t-SNE", "umap": "UMAP"}
        for name, title in titles.items():
            doc.fig(f.cluster / "figures" / f"map_{name}.png", f"{title} map of the {cl.get('kind')} embeddings, "
                                                                 "coloured by true style")
        best = max(cl["methods"], key=lambda k: cl["methods"][k].get("ari", float("-inf")))
        doc.fig(f.cluster / "figures" / f"contingency_{best}.png",
                f"Clusters x styles for {best}, the method with the highest ARI")


def _section_stylization(doc: Doc, f: Found) -> None:
    doc.h(2, "Stylization")
    if f.stylize is None:
        doc.p("Not run: no `artstyle stylize train` run was given (the pipeline's `stylize` stage did not complete).")
        return
    c = _read(f.stylize / "config.json")
    m = _read(f.stylize / "metrics.json")
    cfg = c.get("config", {})
    doc.p(f"A style-conditioned encoder-decoder (`{cfg.get('style_source')}` style vectors, width {cfg.get('width')}, "
          f"{cfg.get('size')} px) re-renders an image in a target style. It was trained against the classifier "
          f"`{c.get('classifier', {}).get('run')}` and is judged by an independently trained one, "
          f"`{c.get('judge', {}).get('run') or 'none'}`. {_training_line(m.get('training'))}")
    ev = m.get("evaluation")
    if not ev:
        doc.p("Not evaluated: the run had no judge (`artstyle stylize evaluate RUN --judge OTHER_RUN` adds it).")
    else:
        labels = {"stylizer": "stylizer (target style)", "identity": "identity (output = input)",
                  "blend": "50/50 blend with the target style's mean image",
                  "reconstruction": "reconstruction with the true style"}
        rows = []
        for name, v in ev["methods"].items():
            rows.append([labels.get(name, name), f"{pct(v['hit_rate'])} ± {100 * v.get('hit_rate_se', 0):.1f}",
                         f3(v.get("ssim")), f"{v['psnr']:.2f}" if _num(v.get("psnr")) else "-",
                         f3(v.get("judge_feature_distance"))])
        doc.table(["method", "judge hit rate on the target style", "SSIM to input", "PSNR to input (dB)",
                   "judge-feature cosine distance"], rows)
        doc.p(f"{ev['pairs']:,} mismatched (test image, target style) pairs from {ev['test_images']:,} test images, "
              f"{len(ev.get('targets', []))} target styles. The judge recognises the inputs' true styles "
              f"{pct(ev.get('judge_accuracy_on_inputs'))} of the time; a random guess hits the target "
              f"{pct(ev.get('chance_hit_rate'))} of the time.")
        st = ev["methods"].get("stylizer", {})
        others = {k: v for k, v in ev["methods"].items() if k != "stylizer"}
        if st and others:
            best_base = max(others, key=lambda k: others[k]["hit_rate"])
            ahead = st["hit_rate"] - others[best_base]["hit_rate"]
            doc.p(f"The judge takes the stylizer's re-renderings for the target style {pct(st['hit_rate'])} of the time, "
                  f"{abs(100 * ahead):.1f} points {'above' if ahead >= 0 else 'below'} the best baseline "
                  f"({labels.get(best_base, best_base)}, {pct(others[best_base]['hit_rate'])}) and "
                  f"{abs(100 * (st['hit_rate'] - ev['chance_hit_rate'])):.1f} points "
                  f"{'above' if st['hit_rate'] >= ev['chance_hit_rate'] else 'below'} chance, while keeping SSIM "
                  f"{f3(st.get('ssim'))} to the input.")
    doc.fig(f.stylize / "figures" / "evaluation_grid.png",
            "Test images (left) re-rendered in every training style")


def _section_lora(doc: Doc, f: Found) -> None:
    doc.h(2, "LoRA")
    if not f.lora and not f.lora_generate:
        reason = ""
        if f.state:
            rec = f.state.get("stages", {}).get("lora", {})
            reason = f" ({rec.get('reason') or rec.get('error') or rec.get('status', 'not run')})" if rec else ""
        doc.p(f"Not run{reason}: LoRA fine-tuning needs a pretrained text-to-image model (`artstyle run --pretrained "
              "ID` or `artstyle lora train --pretrained ID`) and, in practice, a GPU.")
        return
    from artstyle.runs import read_jsonl

    for run in f.lora:
        c = _read(run / "config.json").get("config", {})
        log = read_jsonl(run / "metrics.jsonl")
        last = log[-1] if log else {}
        doc.p(f"LoRA rank {c.get('rank')} on `{c.get('pretrained')}` at {c.get('resolution')} px, "
              f"{last.get('step', '?')} optimiser steps (last logged loss {f3(last.get('loss'))}), prompts like "
              f"\"{c.get('prompt_template')}\".")
        vals = sorted((run / "figures").glob("validation-*.png"),
                      key=lambda p: int(re.sub(r"\D", "", p.stem) or 0))
        if vals:
            doc.fig(vals[-1], f"Validation images at step {re.sub(r'[^0-9]', '', vals[-1].stem)}")
    for gen in f.lora_generate:
        g = _read(gen / "generate.json")
        doc.p(f"Generated with `{g.get('pretrained')}`, {g.get('steps')} steps, guidance {g.get('guidance')}, LoRA "
              f"scale {g.get('lora_scale')}, seeds {g.get('seeds')}" + (" (LoRA trained on SYNTHETIC data)"
                                                                        if g.get("synthetic_training_data") else "") + ".")
        files = g.get("files", [])
        shown = [x for x in files if x.endswith("-compare.png")] or files
        for name in shown:
            style = name.removesuffix(".png").removesuffix("-compare")
            doc.fig(gen / name, f"{_display(style)}: " + ("the base model (top) and with the LoRA (bottom), same seeds"
                                                          if name.endswith("-compare.png") else "with the LoRA"))


def _section_environment(doc: Doc, f: Found) -> None:
    doc.h(2, "The environment")
    recorded = (f.state or {}).get("environment")
    env = recorded or collect_environment()
    threads = env.get("threads_setting") or env.get("torch_threads")
    doc.p(("Recorded when the pipeline started" if recorded else "Of the machine that wrote this report")
          + f": Python {env['python']} on {env['platform']}, {env.get('cpu_count')} CPU cores, device "
          f"{env.get('device')}" + (f", {threads} torch threads" if threads else "") + ".")
    doc.table(["package", "version"], [[k, v or "not installed"] for k, v in env.get("packages", {}).items()])
    lines: list[str] = []
    if f.state:
        stages = f.state.get("stages", {})
        doc.h(3, "Time per stage")
        done = [r.get("seconds", 0.0) for k, r in stages.items() if k != "report" and _num(r.get("seconds"))]
        doc.p(f"The stages took {_secs(sum(done))} in all (each from the invocation that ran it: a resumed pipeline's "
              "stages may come from several invocations).")
        timing = [[k, "this report" if k == "report" else r.get("status", "-"),
                   "-" if k == "report" else _secs(r.get("seconds")),
                   "" if k == "report" else (r.get("reason") or r.get("error") or "")] for k, r in stages.items()]
        doc.table(["stage", "status", "time", "note"], timing)
        lines += ["# the whole pipeline (into a new directory; add --out DIR to resume one):", f.state.get("command", "")]
        for key, rec in stages.items():
            if rec.get("status") == "done" and rec.get("command") and key != "report":
                lines += [f"# {key}", rec["command"]]
    else:
        for run in [f.stats, f.classify, f.judge, *f.other_classifiers, f.strategies, f.embed, f.cluster,
                    f.cluster_compare, f.stylize, *f.lora, *f.lora_generate]:
            if run is None:
                continue
            try:
                lines += [f"# {run}", stage_command(run)]
            except (ArtstyleError, KeyError) as exc:
                lines += [f"# {run}: no command ({exc})"]
        if f.embeddings:
            lines.append("# embeddings files: " + ", ".join(str(p) for p in f.embeddings)
                         + " (written by `artstyle embed export`)")
    doc.h(3, "Commands to reproduce every number")
    doc.code("\n".join(lines) if lines else "# no runs")
    doc.note("Stage commands are derived from each run's config.json (settings equal to the defaults are left out); "
             "the stylizer's command names the classifier and judge runs it used.")


def _synthetic(f: Found) -> bool:
    """True when any run was made from the built-in synthetic data."""
    checks: list[Any] = []
    if f.state:
        checks.append(f.state.get("synthetic"))
    if f.stats:
        checks.append(_read(f.stats / "stats.json").get("synthetic"))
    for run in (f.classify, f.judge, *f.other_classifiers, f.embed, f.stylize):
        if run is not None:
            checks.append(_read(run / "config.json").get("data", {}).get("synthetic"))
    if f.cluster:
        checks.append(_read(f.cluster / "metrics.json").get("synthetic"))
    if f.cluster_compare:
        checks.append(_read(f.cluster_compare / "comparison.json").get("synthetic"))
    return any(bool(c) for c in checks)


def build_report(runs: Sequence[str | Path]) -> Doc:
    """The report as a :class:`Doc` (nothing written)."""
    f = find_runs(runs)
    doc = Doc()
    synthetic = _synthetic(f)
    doc.h(1, "artstyle report" + (" (SYNTHETIC data)" if synthetic else ""))
    if synthetic:
        doc.banner("SYNTHETIC DATA: these results come from artstyle's built-in procedurally painted stand-in for "
                   "WikiArt, not from real paintings. They show that the code works and how the methods compare on a "
                   "controlled problem, not how they do on real art.")
    what = (f"pipeline `{f.pipeline}` (profile {f.state.get('profile')}, data `{f.state.get('data')}`)" if f.pipeline
            else f"{len(runs)} run director{'y' if len(runs) == 1 else 'ies'}")
    doc.p(f"Written {time.strftime('%Y-%m-%d %H:%M')} from the {what}, reading saved results only.")
    if f.state:
        problems = [f"`{k}` {r['status']}" + (f" ({r.get('error') or r.get('reason')})" if r.get("error") or r.get("reason")
                                             else "") for k, r in f.state.get("stages", {}).items()
                    if r.get("status") in ("failed", "running") and k != "report"]
        if problems:
            doc.p("**Incomplete pipeline:** " + "; ".join(problems) + ".")
    for section in (_section_dataset, _section_classifier, _section_autoencoder, _section_clustering,
                    _section_stylization, _section_lora, _section_environment):
        n = len(doc.blocks)
        try:
            section(doc, f)
        except (ArtstyleError, KeyError, TypeError, ValueError) as exc:
            # One unreadable run must not cost the whole report: say what is wrong where the section would be.
            del doc.blocks[n + 1:]
            if len(doc.blocks) == n:
                doc.h(2, section.__name__.removeprefix("_section_").capitalize())
            doc.p(f"This section could not be written: {type(exc).__name__}: {exc}")
    if f.ignored:
        doc.note("Also given but not shown (one run per section): " + ", ".join(str(p) for p in f.ignored))
    return doc


def write_report(runs: list[Path], out: Path | None = None) -> Path:
    """Write ``report.md`` and a self-contained ``report.html``; return the directory holding them.

    ``out`` defaults to the pipeline directory when one is given, else a new ``runs/report/<timestamp>-report/``.
    """
    from artstyle.runs import create_run, write_text

    runs = [Path(r) for r in runs]
    doc = build_report(runs)
    if out is None:
        pipeline = next((r for r in runs if (r / "pipeline.json").is_file()), None)
        out = pipeline if pipeline is not None else create_run("report", "report")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    write_text(out / "report.md", doc.markdown(out))
    title = next((b[2] for b in doc.blocks if b[0] == "h" and b[1] == 1), "artstyle report")
    write_text(out / "report.html", doc.html(title))
    return out


__all__ = ["Doc", "Found", "build_report", "cluster_answer", "collect_environment", "find_runs", "run_kind",
           "stage_command", "write_report", "SECTION_TITLES"]
