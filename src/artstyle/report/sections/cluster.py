"""The report's "Clustering" section: "do styles cluster?", from a cluster comparison and a cluster run.

Usage: ``section_clustering(doc, found)``. The verdict sentence is :func:`artstyle.metrics.cluster_answer`.
"""

from __future__ import annotations

from typing import Any

from artstyle.metrics import cluster_answer
from artstyle.report.document import Doc
from artstyle.report.find import Found
from artstyle.report.format import f3, secs
from artstyle.runs import read_json

_MAP_TITLES = {"pca": "PCA", "tsne": "t-SNE", "umap": "UMAP"}


def section_clustering(doc: Doc, f: Found) -> None:
    doc.h(2, "Clustering")
    if f.cluster is None and f.cluster_compare is None:
        doc.p("Not run: no `artstyle cluster` run was given (the pipeline's `cluster` stage did not complete).")
        return
    cmp = read_json(f.cluster_compare / "comparison.json") if f.cluster_compare else None
    cl = read_json(f.cluster / "metrics.json") if f.cluster else None
    doc.p(f"**On {_dataset_name(f, cmp, cl)}: " + cluster_answer(cmp, cl) + "**")
    doc.p("The same question is answered on two datasets in docs/results.md, each with the command that made it: "
          "the built-in dataset (SYNTHETIC: 27 procedural painters, where colour layout carries much of the style) "
          "and the real-image benchmark (photographs rendered in 12 styles by `benchmarks/real_styles.py`, where "
          "two images of one style share texture, not layout). A style is how an image is painted, so the "
          "`ae-style` kind (per-channel feature statistics over crops) is the representation built for it.")
    doc.p("ARI (adjusted Rand index) is 0 for a random labelling and 1 when the clusters are exactly the styles; NMI "
          "is the mutual information of clusters and styles, normalised; purity is the share of images in their "
          "cluster's majority style (high by chance when one style dominates, hence the chance rows). Every "
          "representation is standardised and reduced with PCA before clustering, into as many clusters as styles "
          "(HDBSCAN picks its own number; its noise counts as one cluster).")
    if cmp:
        _representations(doc, f, cmp)
    if cl:
        _one_embedding(doc, f, cl)


def _dataset_name(f: Found, cmp: dict[str, Any] | None, cl: dict[str, Any] | None) -> str:
    """The data this report's clusters were made from, by name: the built-in dataset or the source path."""
    synthetic = bool((cmp or {}).get("synthetic") or (cl or {}).get("synthetic"))
    source = None
    if f.embed is not None and (f.embed / "config.json").is_file():
        source = read_json(f.embed / "config.json").get("data", {}).get("source")
    if synthetic:
        return f"the built-in dataset ({source}, SYNTHETIC)" if source else "the built-in dataset (SYNTHETIC)"
    return f"`{source}`" if source else "the given images"


def _representations(doc: Doc, f: Found, cmp: dict[str, Any]) -> None:
    """Every representation (autoencoder, pixels, classifier features, ...) scored side by side."""
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
    doc.table(["representation", "method", "ARI", "NMI", "purity", "silhouette", "clusters"], rows, right_from=2)
    doc.fig(f.cluster_compare / "figures" / "comparison.png", "Clusters against true styles, per representation")


def _one_embedding(doc: Doc, f: Found, cl: dict[str, Any]) -> None:
    """One embeddings file clustered by every method: scores, maps and the best method's contingency table."""
    doc.h(3, f"The {cl.get('kind')} embeddings: scores and maps")
    doc.p(f"{cl['n_points']:,} images ({cl.get('split')} split), {cl['dim']}-d vectors reduced to "
          f"{cl.get('features_dim')} dimensions, {cl['n_clusters']} clusters for {cl.get('n_classes_present')} "
          f"styles present.")
    rows = [[method, f3(sc.get("ari")), f3(sc.get("nmi")), f3(sc.get("homogeneity")), f3(sc.get("completeness")),
             f3(sc.get("purity")), f3(sc.get("silhouette")), sc.get("n_clusters", ""), secs(sc.get("seconds"))]
            for method, sc in cl["methods"].items()]
    ch = cl.get("chance", {})
    rows.append(["chance (random labelling)", f3(ch.get("ari")), f3(ch.get("nmi")), f3(ch.get("homogeneity")),
                 f3(ch.get("completeness")), f3(ch.get("purity")), "-", ch.get("n_clusters", ""), "-"])
    doc.table(["method", "ARI", "NMI", "homogeneity", "completeness", "purity", "silhouette", "clusters", "time"],
              rows)
    for name, title in _MAP_TITLES.items():
        doc.fig(f.cluster / "figures" / f"map_{name}.png", f"{title} map of the {cl.get('kind')} embeddings, "
                                                           "coloured by true style")
    best = max(cl["methods"], key=lambda k: cl["methods"][k].get("ari", float("-inf")))
    doc.fig(f.cluster / "figures" / f"contingency_{best}.png",
            f"Clusters x styles for {best}, the method with the highest ARI")
