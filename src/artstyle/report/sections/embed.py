"""The report's "The autoencoder" section, from an ``embed train`` run: autoencoder against PCA.

Usage: ``section_autoencoder(doc, found)``.
"""

from __future__ import annotations

from artstyle.report.document import Doc
from artstyle.report.find import Found
from artstyle.report.format import num, pct, training_line
from artstyle.runs import read_json


def section_autoencoder(doc: Doc, f: Found) -> None:
    doc.h(2, "The autoencoder")
    if f.embed is None:
        doc.p("Not run: no `artstyle embed train` run was given (the pipeline's `embed` stage did not complete).")
        return
    c = read_json(f.embed / "config.json")
    m = read_json(f.embed / "metrics.json")
    ae, pca = m["autoencoder"], m["pca_baseline"]
    size, d = m.get("size", c.get("model", {}).get("img_size")), m["latent_dim"]
    ratio = (size * size * 3 / d) if num(size) and d else float("nan")
    doc.p(f"A convolutional autoencoder trained from scratch compresses each {size} px image to {d} numbers "
          f"({ratio:.0f}x fewer than its pixels), with the `{m.get('loss')}` loss. It is compared with PCA keeping "
          f"the same number of dimensions ({pca.get('components')} components fitted on {_fit_images(pca)}, "
          f"{pct(pca.get('explained_variance'))} of the pixel variance), on the same "
          f"{m['n_images']:,} {m['split']} images. {training_line(m.get('training'))}")
    _score_table(doc, ae, pca, m.get("autoencoder_refined"))
    start = m.get("linear_init")
    if start:
        doc.p(f"The `{c.get('model', {}).get('arch')}` model starts from patch PCA (its linear path is the PCA of "
              f"training patches, {pct(start.get('explained_variance'))} of their variance; its non-linear path "
              f"starts at zero): {start['psnr']:.2f} dB PSNR and SSIM {start['ssim']:.4f} before the first step, "
              f"{start.get('seconds', 0):.0f} s of its budget. Training moved it by {ae['psnr'] - start['psnr']:+.2f} dB.")
    diff = ae["psnr"] - pca["psnr"]
    doc.p(f"The autoencoder reconstructs {abs(diff):.2f} dB {'better' if diff > 0 else 'worse'} than PCA in PSNR "
          f"and {'better' if ae['ssim'] > pca['ssim'] else 'worse'} in SSIM ({ae['ssim']:.3f} vs {pca['ssim']:.3f}).")
    refined = m.get("autoencoder_refined")
    if refined:
        doc.p(f"With refined latents (each image's code improved by {refined['steps']} Adam steps on its PSNR "
              f"through the frozen decoder; still {d} numbers, {refined.get('seconds', 0):.0f} s for these images), "
              f"it reconstructs {refined['psnr'] - pca['psnr']:+.2f} dB against PCA. The `ae` embeddings clustered "
              "below are the encoder's own codes; `ae-refined`, where it was exported, refines them by 10 steps.")
    doc.fig(f.embed / "figures" / "learning_curves.png",
            "Learning curves: training and validation loss, validation PSNR")
    doc.fig(f.embed / "figures" / "pca_vs_ae.png",
            "Validation images: originals, autoencoder reconstructions (from refined latents too, when scored) and PCA's")
    doc.fig(f.embed / "figures" / "reconstructions.png", "Reconstructions after the last epoch")


def _score_table(doc: Doc, ae: dict, pca: dict, refined: dict | None) -> None:
    """PSNR, SSIM and MSE of the autoencoder (and its refined latents, when scored) against PCA."""
    cols = [("autoencoder", ae)] + ([(f"refined latents ({refined['steps']} steps)", refined)] if refined else [])
    cols.append((f"PCA ({pca.get('components')} components)", pca))
    rows = []
    for label, key, fmt, higher in (("PSNR (dB, higher is better)", "psnr", ".2f", True),
                                    ("SSIM (higher is better)", "ssim", ".4f", True),
                                    ("MSE (lower is better)", "mse", ".5f", False)):
        best = (max if higher else min)(cols, key=lambda col: col[1][key])[0]
        rows.append([label, *[format(scores[key], fmt) for _, scores in cols], best])
    doc.table(["metric", *[name for name, _ in cols], "better"], rows)


def _fit_images(pca: dict) -> str:
    """"all 3,431 training images", or "2,000 of the 3,431 training images" (a weaker baseline) for a subsample."""
    fit, train = pca.get("fit_images"), pca.get("train_images")
    if train is None or fit is None:  # runs from before train_images was recorded
        return "training images" if fit is None else f"{fit:,} training images"
    return f"all {fit:,} training images" if fit >= train else f"{fit:,} of the {train:,} training images (a subsample)"
