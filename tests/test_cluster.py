"""Clustering stage: scores, embeddings files, the cluster/compare runs, figures and the CLI.

Usage: ``PYTHONPATH=src .venv/bin/python -m pytest tests/test_cluster.py``
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from artstyle.cluster import METHODS, ClusterConfig, cluster_embeddings, compare_embeddings, fit_predict
from artstyle.embeddings import load_embeddings, save_embeddings
from artstyle.errors import ArtstyleError
from artstyle.metrics import SCORE_NAMES, chance_scores, cluster_scores, contingency, purity_from_table, purity_score
from artstyle.styles import STYLE_NAMES, display_name


def blobs(n: int, n_classes: int, dim: int, spread: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``(X (n, dim), labels (n,))``: Gaussian blobs with unit noise, centres ~N(0, spread^2)."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % n_classes  # every class present
    centres = rng.normal(0, spread, (n_classes, dim))
    return (centres[labels] + rng.normal(0, 1, (n, dim))).astype(np.float32), labels


def make_embeddings(path: Path, n: int = 200, n_classes: int = 4, dim: int = 12, spread: float = 8.0,
                    kind: str = "ae", synthetic: bool = True, thumbs: bool = True, seed: int = 0) -> Path:
    """A small embeddings file over the first ``n_classes`` WikiArt styles; 3/4 train, 1/4 test."""
    X, y = blobs(n, n_classes, dim, spread, seed)
    splits = np.where((np.arange(n) // n_classes) % 4 == 3, "test", "train")  # every style in both splits
    thumb_arr = None
    if thumbs:
        # Each style a flat colour, so a sprite tile can be traced back to its item.
        thumb_arr = np.zeros((n, 8, 8, 3), np.uint8) + (y[:, None, None, None] * 60).astype(np.uint8)
    return save_embeddings(path, X, y, STYLE_NAMES[:n_classes], [f"img/{i}.jpg" for i in range(n)], splits,
                           kind=kind, synthetic=synthetic, thumbs=thumb_arr)


# ------------------------------------------------------------------------------------------- scores

def test_kmeans_recovers_well_separated_blobs() -> None:
    X, y = blobs(600, 5, 8, spread=12.0)
    scores = cluster_scores(y, fit_predict("kmeans", X, 5, seed=0), X)
    assert scores["ari"] > 0.99
    assert scores["purity"] > 0.99
    assert scores["n_clusters"] == 5
    assert scores["silhouette"] > 0.5


def test_random_labelling_scores_near_chance() -> None:
    rng = np.random.default_rng(1)
    y = rng.integers(0, 10, 20_000)
    random_pred = rng.integers(0, 10, 20_000)
    assert abs(cluster_scores(y, random_pred)["ari"]) < 0.05
    chance = chance_scores(y, 10, seed=0)
    assert abs(chance["ari"]) < 0.05
    assert chance["nmi"] < 0.05
    # Purity of a random labelling is about the largest class share (0.1 here), not 0.
    assert 0.09 < chance["purity"] < 0.15


def test_chance_is_not_the_labels_even_with_the_same_seed() -> None:
    y = np.random.default_rng(0).integers(0, 5, 300)  # the exact stream chance_scores would use naively
    assert chance_scores(y, 5, seed=0)["ari"] < 0.1


def test_purity_of_a_hand_made_contingency() -> None:
    # clusters x classes:  c0 = [5, 1, 0], c1 = [0, 3, 3], c2 = [2, 0, 0]  ->  purity = (5 + 3 + 2) / 14
    table = np.array([[5, 1, 0], [0, 3, 3], [2, 0, 0]])
    y_true = np.concatenate([np.repeat(np.arange(3), row) for row in table])
    y_pred = np.concatenate([np.full(row.sum(), c) for c, row in enumerate(table)])
    assert purity_from_table(table) == pytest.approx(10 / 14)
    assert purity_score(y_true, y_pred) == pytest.approx(10 / 14)
    ids, got = contingency(y_true, y_pred, 3)
    assert ids.tolist() == [0, 1, 2]
    assert np.array_equal(got, table)


def test_scores_match_sklearn_for_a_known_case() -> None:
    from sklearn import metrics

    y_true = np.array([0, 0, 1, 1, 2, 2, 2, 0])
    y_pred = np.array([1, 1, 0, 0, 0, 2, 2, 1])
    X = np.random.default_rng(0).normal(size=(8, 3))
    s = cluster_scores(y_true, y_pred, X)
    assert set(SCORE_NAMES) <= set(s)
    assert s["ari"] == pytest.approx(metrics.adjusted_rand_score(y_true, y_pred))
    assert s["nmi"] == pytest.approx(metrics.normalized_mutual_info_score(y_true, y_pred))
    assert s["homogeneity"] == pytest.approx(metrics.homogeneity_score(y_true, y_pred))
    assert s["completeness"] == pytest.approx(metrics.completeness_score(y_true, y_pred))
    assert s["v_measure"] == pytest.approx(metrics.v_measure_score(y_true, y_pred))
    assert s["silhouette"] == pytest.approx(metrics.silhouette_score(X, y_pred))
    # sklearn's documented example: splitting one class in two keeps homogeneity at 1, ARI 0.57.
    s2 = cluster_scores(np.array([0, 0, 1, 1]), np.array([0, 0, 1, 2]))
    assert s2["ari"] == pytest.approx(0.5714285714)
    assert s2["homogeneity"] == pytest.approx(1.0)
    assert s2["purity"] == pytest.approx(1.0)
    assert s2["silhouette"] is None  # no features given


def test_noise_is_scored_as_its_own_cluster() -> None:
    y_true = np.array([0, 0, 0, 1, 1, 1])
    y_pred = np.array([0, 0, -1, 1, 1, -1])
    s = cluster_scores(y_true, y_pred)
    assert s["n_clusters"] == 2 and s["n_noise"] == 2
    # clusters 0 = {0,0}, 1 = {1,1}, -1 = {0,1}: purity (2 + 2 + 1) / 6
    assert s["purity"] == pytest.approx(5 / 6)


@pytest.mark.parametrize("method", ["agglomerative", "hdbscan"])
def test_subsample_fit_then_assign_covers_every_point(method: str) -> None:
    X, y = blobs(900, 3, 6, spread=15.0)
    pred = fit_predict(method, X, 3, seed=0, max_points_fit=300)
    assert pred.shape == (900,)
    assert cluster_scores(y, pred)["ari"] > 0.95


def test_features_are_standardised_then_reduced_to_pca_dim() -> None:
    from artstyle.cluster import prepare_features

    X, y = blobs(300, 3, 80, spread=4.0)
    X[:, 0] = np.random.default_rng(1).normal(0, 1000, 300)  # one huge, uninformative dimension
    raw = prepare_features(X, pca_dim=0)
    assert raw.shape == (300, 80) and np.allclose(raw.mean(0), 0, atol=1e-4) and np.allclose(raw.std(0), 1, atol=1e-3)
    reduced = prepare_features(X, pca_dim=50)
    assert reduced.shape == (300, 50) and reduced.dtype == np.float32
    # Without standardising, the huge dimension would dominate the distances and hide the blobs.
    assert cluster_scores(y, fit_predict("kmeans", reduced, 3))["ari"] > 0.95
    assert cluster_scores(y, fit_predict("kmeans", X, 3))["ari"] < 0.5


def test_every_method_is_registered_and_unknown_is_a_user_error() -> None:
    assert set(METHODS) == {"kmeans", "agglomerative", "gmm", "hdbscan"}
    with pytest.raises(ArtstyleError, match="kmeans"):
        fit_predict("spectral", np.zeros((10, 2)), 2)


# ------------------------------------------------------------------------------------------- files

def test_embeddings_round_trip(tmp_path: Path) -> None:
    path = make_embeddings(tmp_path / "e.npz", n=40, dim=5, kind="pixels", synthetic=False)
    emb = load_embeddings(path)
    assert emb.vectors.shape == (40, 5) and emb.vectors.dtype == np.float32
    assert emb.labels.dtype == np.int64 and emb.classes == list(STYLE_NAMES[:4])
    assert emb.kind == "pixels" and emb.synthetic is False
    assert emb.thumbs is not None and emb.thumbs.shape == (40, 8, 8, 3)
    assert sorted(set(emb.splits.tolist())) == ["test", "train"]
    assert not list(tmp_path.glob(".*tmp"))  # the atomic write left no temp file behind


def test_load_embeddings_errors_are_clear(tmp_path: Path) -> None:
    with pytest.raises(ArtstyleError, match="does not exist"):
        load_embeddings(tmp_path / "missing.npz")
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"this is not a zip file")
    with pytest.raises(ArtstyleError, match="not a readable .npz"):
        load_embeddings(bad)
    partial = tmp_path / "partial.npz"
    np.savez(partial, vectors=np.zeros((3, 2), np.float32), labels=np.zeros(3, np.int64))
    with pytest.raises(ArtstyleError, match="missing key.*classes"):
        load_embeddings(partial)
    good = load_embeddings(make_embeddings(tmp_path / "g.npz", n=8, thumbs=False))
    arrays = dict(vectors=good.vectors, labels=good.labels, classes=np.array(good.classes), paths=good.paths,
                  splits=good.splits, kind=np.array("ae"), synthetic=np.array(True))
    np.savez(tmp_path / "range.npz", **{**arrays, "labels": good.labels + 10})
    with pytest.raises(ArtstyleError, match="labels must index"):
        load_embeddings(tmp_path / "range.npz")
    np.savez(tmp_path / "shape.npz", **{**arrays, "paths": good.paths[:-1]})
    with pytest.raises(ArtstyleError, match="'paths' has shape"):
        load_embeddings(tmp_path / "shape.npz")
    with pytest.raises(ArtstyleError, match="NaN"):
        save_embeddings(tmp_path / "nan.npz", np.full((2, 2), np.nan), [0, 0], ["a"], ["x", "y"], ["train"] * 2,
                        "ae", False)


# ------------------------------------------------------------------------------------------- runs

@pytest.fixture(scope="module")
def full_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """One complete run (every method, all three maps, thumbnails, projector) shared by the checks below."""
    tmp = tmp_path_factory.mktemp("cluster")
    emb = make_embeddings(tmp / "emb.npz", n=200, n_classes=4)
    # Seeded UMAP: reproducible, and its single-threaded code JIT-compiles much faster than the parallel one.
    run = cluster_embeddings(ClusterConfig(embeddings=str(emb), thumbnails=True, umap_deterministic=True,
                                           out=str(tmp / "run")))
    return emb, run


def test_cluster_run_writes_config_and_metrics(full_run: tuple[Path, Path]) -> None:
    emb, run = full_run
    config = json.loads((run / "config.json").read_text())
    assert config["embeddings"] == str(emb) and config["n_clusters"] == 4
    assert json.loads((run / "classes.json").read_text()) == list(STYLE_NAMES[:4])
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["synthetic"] is True and metrics["n_points"] == 200
    assert set(metrics["methods"]) == set(METHODS)
    for method, scores in metrics["methods"].items():
        assert set(SCORE_NAMES) | {"n_clusters", "seconds"} <= set(scores), method
        assert scores["ari"] > 0.95, method  # the blobs are well separated
    assert abs(metrics["chance"]["ari"]) < 0.1
    lines = (run / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(line)["method"] for line in lines] == list(METHODS)
    with np.load(run / "assignments.npz") as a:
        assert set(a.files) == {"labels", "index", *METHODS}
        assert a["kmeans"].shape == (200,)


def test_cluster_run_writes_figures(full_run: tuple[Path, Path]) -> None:
    from PIL import Image

    _, run = full_run
    expected = [f"contingency_{m}.png" for m in METHODS] + [f"{kind}_{m}.png" for kind in ("map", "thumbs")
                                                           for m in ("pca", "tsne", "umap")]
    for name in expected:
        with Image.open(run / "figures" / name) as im:
            assert im.width > 200 and im.height > 200, name
    with np.load(run / "maps.npz") as maps:
        assert maps["umap_xy"].shape == (200, 2) and np.isfinite(maps["umap_xy"]).all()


def test_cluster_run_writes_projector(full_run: tuple[Path, Path]) -> None:
    from PIL import Image

    _, run = full_run
    proj = run / "projector"
    vectors = (proj / "vectors.tsv").read_text().splitlines()
    assert len(vectors) == 200 and all(len(v.split("\t")) == 12 for v in vectors)
    meta = (proj / "metadata.tsv").read_text().splitlines()
    assert meta[0] == "style\tsplit\tpath" and len(meta) == 201
    assert meta[1].split("\t") == [display_name(STYLE_NAMES[0]), "train", "img/0.jpg"]
    with Image.open(proj / "sprite.png") as sprite:
        assert sprite.size == (15 * 8, 14 * 8)  # ceil(sqrt(200)) = 15 tiles per row, 14 rows
    config = (proj / "projector_config.pbtxt").read_text()
    assert 'tensor_path: "vectors.tsv"' in config and "single_image_dim: 8" in config


def test_style_map_legend_has_one_entry_per_style_present() -> None:
    from artstyle.figures.clusters import plot_style_map

    rng = np.random.default_rng(0)
    present = [0, 3, 12, 20, 26]
    labels = rng.choice(present, 300)
    fig = plot_style_map(rng.normal(size=(300, 2)), labels, STYLE_NAMES, title="t")
    legend = fig.axes[0].get_legend()
    assert [t.get_text() for t in legend.get_texts()] == [display_name(STYLE_NAMES[i]) for i in present]
    # Colour AND marker differ between styles: 27 styles need more than 10 colours can give.
    handles = legend.legend_handles
    combos = {(tuple(h.get_color()) if not isinstance(h.get_color(), str) else h.get_color(), h.get_marker())
              for h in handles}
    assert len(combos) == len(present)
    assert legend.get_bbox_to_anchor().x0 > fig.axes[0].get_window_extent().x1 - 1  # outside the axes


def test_contingency_rows_follow_the_majority_style() -> None:
    from artstyle.figures.clusters import plot_contingency

    y_true = np.array([0] * 5 + [1] * 5 + [2] * 5)
    y_pred = np.array([7] * 5 + [3] * 5 + [5] * 5)  # cluster 7 = style 0, 3 = style 1, 5 = style 2
    fig = plot_contingency(y_true, y_pred, STYLE_NAMES[:3])
    rows = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert rows == ["c7 (5)", "c3 (5)", "c5 (5)"]


def test_split_and_cluster_colouring(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import artstyle.figures.clusters as figures

    legends: list[tuple[str, list[str]]] = []
    draw = figures.plot_style_map

    def recording(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        legend = draw(*args, **kwargs).axes[0].get_legend()
        legends.append((legend.get_title().get_text(), [t.get_text() for t in legend.get_texts()]))
        return legend.figure

    monkeypatch.setattr(figures, "plot_style_map", recording)
    emb = make_embeddings(tmp_path / "emb.npz", n=120, thumbs=False)
    run = cluster_embeddings(ClusterConfig(embeddings=str(emb), split="test", color_by="cluster", maps=["pca"],
                                           methods=["kmeans", "gmm"], projector=False))
    # --color-by cluster: the legend lists the KMeans clusters, not the styles.
    assert legends == [("kmeans cluster", [f"cluster {c}" for c in range(4)])]
    assert run.parent == tmp_path / "runs" / "cluster" and run.name.endswith("-ae")
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["n_points"] == 28 and set(metrics["methods"]) == {"kmeans", "gmm"}
    assert (run / "figures" / "map_pca.png").is_file() and not (run / "projector").exists()
    with pytest.raises(ArtstyleError, match="no items in that split"):
        cluster_embeddings(ClusterConfig(embeddings=str(emb), split="val"))
    with pytest.raises(ArtstyleError, match="--methods"):
        cluster_embeddings(ClusterConfig(embeddings=str(emb), methods=["kmeans", "dbscan"]))


def test_compare_two_representations(tmp_path: Path) -> None:
    good = make_embeddings(tmp_path / "ae.npz", n=160, kind="ae", thumbs=False)
    noise = make_embeddings(tmp_path / "px.npz", n=160, kind="pixels", spread=0.0, thumbs=False, seed=1)
    run = compare_embeddings([good, noise], methods=["kmeans", "agglomerative"], print_table=False)
    assert run.name.endswith("-compare")
    md = (run / "comparison.md").read_text()
    assert "| ae |" in md and "| pixels |" in md and "chance (random labelling)" in md
    assert "kmeans ARI" in md and "agglomerative purity" in md and "SYNTHETIC" in md
    data = json.loads((run / "comparison.json").read_text())
    by_kind = {r["kind"]: r for r in data["rows"]}
    assert by_kind["ae"]["methods"]["kmeans"]["ari"] > 0.9
    assert abs(by_kind["pixels"]["methods"]["kmeans"]["ari"]) < 0.1  # pure noise has no style structure
    assert len(data["chance"]) == 1  # both files share the labels, so one chance row
    assert (run / "figures" / "comparison.png").stat().st_size > 1000


# ------------------------------------------------------------------------------------------- CLI

def test_cli_default_command_and_compare(tmp_path: Path) -> None:
    import typer
    from typer.testing import CliRunner

    from artstyle.commands.cluster import app

    emb = make_embeddings(tmp_path / "emb.npz", n=80, thumbs=False)
    runner = CliRunner()
    common = ["--methods", "kmeans", "--maps", "pca", "--no-projector"]
    res = runner.invoke(app, [str(emb), *common, "--out", str(tmp_path / "a")])
    assert res.exit_code == 0, res.output
    assert json.loads((tmp_path / "a" / "metrics.json").read_text())["methods"]["kmeans"]["ari"] > 0.9
    res = runner.invoke(app, ["fit", str(emb), *common, "--out", str(tmp_path / "b")])
    assert res.exit_code == 0, res.output
    # Mounted the way the main CLI mounts it: `artstyle cluster EMB`.
    root = typer.Typer()
    root.callback()(lambda: None)
    root.add_typer(app, name="cluster")
    res = runner.invoke(root, ["cluster", str(emb), *common, "--out", str(tmp_path / "c")])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "c" / "figures" / "map_pca.png").is_file()
    res = runner.invoke(root, ["cluster", "compare", str(emb), str(emb), "--methods", "kmeans",
                               "--out", str(tmp_path / "d")])
    assert res.exit_code == 0, res.output
    assert "ae (emb)" in (tmp_path / "d" / "comparison.md").read_text()
    res = runner.invoke(root, ["cluster", "--help"])
    assert res.exit_code == 0 and "compare" in res.output and "fit" in res.output
    res = runner.invoke(root, ["cluster", str(tmp_path / "nope.npz")])
    assert isinstance(res.exception, ArtstyleError) and "does not exist" in str(res.exception)
