"""Stylizer runs against the overlay frontier: judge hit rate and SSIM of a real painting of the target style laid
over the input, on the same pairs as the runs' own evaluations.

Usage::

    python benchmarks/stylize_frontier.py runs/s12/sty-j30 runs/s13/sty-adv02 --judge runs/s12/judge64 \\
        --pairs 300 --figure docs/gallery/stylize_frontier.png --doc

Each run must have been evaluated (`stylize train --judge` or `stylize evaluate`) with this judge, pair count and
seed on the same data: the script reads its hit rate and SSIM from metrics.json and refuses runs scored
otherwise. The frontier (`artstyle.stylize.frontier.overlay_frontier`) uses the first run's data and styles.
With ``--doc`` the table goes into docs/results.md (block ``--section``, default ``stylize-frontier``); ``--target SSIM,HIT`` shades the
region a target asks for (issue 12's built-in target: 0.5,0.7).
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _report import machine, update_section  # noqa: E402

DOC = Path(__file__).resolve().parents[1] / "docs" / "results.md"


def run_point(run: str, judge: str, pairs: int, seed: int, data: str, view: str = "recipe") -> tuple[float, float]:
    """``(ssim, hit_rate)`` of a run's stored evaluation; an error unless it used this judge, pairs, seed, data and
    judge view (evaluations before the view existed read the network alone: ``network``)."""
    from artstyle.runs import read_json

    ev = (read_json(Path(run) / "metrics.json") or {}).get("evaluation")
    if not ev:
        sys.exit(f"error: {run} has no evaluation; run `artstyle stylize evaluate {run} --judge {judge}` first")
    same = (Path(ev["judge"]).resolve() == Path(judge).resolve() and ev["pairs"] == pairs and ev["seed"] == seed
            and ev["data"]["source"] == data and ev.get("judge_view", "network") == view)
    if not same:
        sys.exit(f"error: {run} was evaluated with judge {ev['judge']} ({ev.get('judge_view', 'network')} view), "
                 f"{ev['pairs']} pairs, seed {ev['seed']} on {ev['data']['source']}; this comparison needs {judge} "
                 f"({view} view), {pairs}, {seed} on {data}: run `artstyle stylize evaluate {run} --judge {judge} "
                 f"--judge-view {view} --pairs {pairs} --seed {seed}`")
    m = ev["methods"]["stylizer"]
    return m["ssim"], m["hit_rate"]


def frontier_at(points: list[dict], ssim: float) -> float:
    """The overlay curve's hit rate at ``ssim``, linearly interpolated (SSIM falls as alpha rises)."""
    import numpy as np

    xs = np.array([p["ssim"] for p in points])[::-1]
    ys = np.array([p["hit_rate"] for p in points])[::-1]
    return float(np.interp(ssim, xs, ys))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", nargs="+", help="evaluated stylize run directories")
    ap.add_argument("--judge", required=True, help="the classify run the runs were evaluated with")
    ap.add_argument("--judge-view", default="recipe", choices=("recipe", "network"),
                    help="how the judge reads a picture, as the runs' evaluations did (artstyle.stylize.judging)")
    ap.add_argument("--pairs", type=int, default=300)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--target", default="", help="SSIM,HIT to shade, e.g. 0.5,0.7")
    ap.add_argument("--figure", default="", help="write the figure here (PNG)")
    ap.add_argument("--doc", action="store_true", help="write the table into docs/results.md")
    ap.add_argument("--section", default="stylize-frontier", help="the docs/results.md block --doc replaces")
    args = ap.parse_args(argv)
    import torch

    from artstyle.figures import save_figure
    from artstyle.figures.stylize import plot_frontier
    from artstyle.stylize.frontier import overlay_frontier
    from artstyle.tables import markdown_table

    torch.set_num_threads(args.threads)
    result = overlay_frontier(args.runs[0], args.judge, pairs=args.pairs, seed=args.seed, judge_view=args.judge_view)
    runs = {Path(r).name: run_point(r, args.judge, args.pairs, args.seed, result["data"], args.judge_view)
            for r in args.runs}
    rows = [[f"overlay, alpha {p['alpha']:g}", f"{100 * p['hit_rate']:.1f} ± {100 * p['hit_rate_se']:.1f}%",
             f"{p['ssim']:.3f}", ""] for p in result["points"]]
    rows += [[f"`{name}`", f"{100 * hit:.1f}%", f"{ssim:.3f}",
              f"{100 * (hit - frontier_at(result['points'], ssim)):+.1f}"] for name, (ssim, hit) in runs.items()]
    table = markdown_table(["method", "judge hit rate on the target style", "SSIM to the input",
                            "hit rate minus the overlay's at that SSIM (points)"], rows, right_from=1).rstrip("\n")
    if args.figure:
        target = tuple(float(v) for v in args.target.split(",")) if args.target else None
        save_figure(plot_frontier(result["points"], runs, target, result["synthetic"]), args.figure)
    this = "python benchmarks/stylize_frontier.py " + shlex.join(sys.argv[1:] if argv is None else argv)
    data = f"{result['data']} (SYNTHETIC built-in data)" if result["synthetic"] else result["data"]
    body = (f"#### The overlay frontier: how far a real painting of the target style gets ({data})\n\n"
            f"Produced by: `{this}` ({machine()}).\n\n"
            f"{result['pairs']} mismatched test pairs of {data}, seed {result['seed']}, judge `{args.judge}` "
            f"(view: {args.judge_view}). "
            "`overlay, alpha a` is `(1 - a) * input + a * painting`, the painting a random training image of the "
            "target style (`artstyle.stylize.frontier`); the runs' rows are their own evaluations on the same pairs. "
            "The last column is a run's hit rate minus the overlay's at the run's SSIM (interpolated).\n\n" + table)
    if args.doc:
        update_section(args.section, body, doc=DOC)
    print(body)


if __name__ == "__main__":
    main()
