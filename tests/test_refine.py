"""Latent refinement (issue 17): codes improved through the frozen decoder, image by image."""

from __future__ import annotations

import torch

from artstyle.embed.measure import reconstruction_metrics
from artstyle.embed.refine import refine_latents
from artstyle.embed.task import reconstruction_loss
from artstyle.models.autoencoder import GridAutoencoder


def _model_with_a_poor_encoder() -> tuple[GridAutoencoder, torch.Tensor]:
    """A grid autoencoder at its patch-PCA start, whose encoder then gets a random correction: its codes are no
    longer the best ones for its decoder."""
    torch.manual_seed(0)
    images = torch.rand(12, 3, 32, 32) * 2 - 1
    model = GridAutoencoder(latent_dim=16, img_size=32, width=8)
    model.init_linear(images)
    with torch.no_grad():
        model.to_latent.weight.normal_(0, 0.3)
    return model.eval(), images


def test_zero_steps_is_the_encoders_code_and_refinement_lowers_every_images_loss() -> None:
    model, images = _model_with_a_poor_encoder()
    with torch.no_grad():
        encoded = model.encode(images)
    assert torch.equal(refine_latents(model, images, 0), encoded)
    refined = refine_latents(model, images, 30)
    assert refined.shape == encoded.shape == (12, 16)
    with torch.no_grad():
        before = reconstruction_loss(model.decode(encoded), images, "psnr")  # minus PSNR, per image
        after = reconstruction_loss(model.decode(refined), images, "psnr")
    assert (after < before).all(), (before, after)
    assert (before - after).mean() > 0.5  # dB: the random encoder correction is mostly undone


def test_refinement_leaves_the_weights_and_mode_alone_and_each_image_is_its_own() -> None:
    model, images = _model_with_a_poor_encoder()
    weights = {k: v.clone() for k, v in model.state_dict().items()}
    model.train()
    batch = refine_latents(model, images, 10)
    assert model.training  # restored
    assert all(torch.equal(weights[k], v) for k, v in model.state_dict().items())
    assert all(p.grad is None for p in model.parameters())
    alone = torch.cat([refine_latents(model, images[i:i + 1], 10) for i in range(3)])
    torch.testing.assert_close(batch[:3], alone, atol=1e-4, rtol=1e-4)  # a code depends on its image only


def test_reconstruction_metrics_score_refined_latents() -> None:
    model, images = _model_with_a_poor_encoder()
    uint8 = ((images + 1) * 127.5).round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).numpy()
    plain = reconstruction_metrics(model, uint8, "psnr")
    refined = reconstruction_metrics(model, uint8, "psnr", refine_steps=30)
    assert refined["psnr"] > plain["psnr"] + 0.5
    assert set(refined) == set(plain)


def test_the_report_shows_refined_latents_beside_the_encoder_and_pca(tmp_path) -> None:
    from artstyle.report.document import Doc
    from artstyle.report.find import Found
    from artstyle.report.sections.embed import section_autoencoder
    from artstyle.runs import write_json

    scores = {"autoencoder": {"psnr": 26.3, "ssim": 0.66, "mse": 0.0058},
              "autoencoder_refined": {"psnr": 27.2, "ssim": 0.68, "mse": 0.0047, "steps": 25, "seconds": 40.0},
              "pca_baseline": {"psnr": 24.67, "ssim": 0.6, "mse": 0.0075, "components": 256}}
    write_json(tmp_path / "config.json", {"model": {"arch": "grid-fine", "img_size": 64}})
    write_json(tmp_path / "metrics.json", {**scores, "size": 64, "latent_dim": 256, "n_images": 1337, "split": "val",
                                           "loss": "psnr"})
    doc = Doc()
    section_autoencoder(doc, Found(embed=tmp_path))
    text = doc.markdown(tmp_path)
    assert "refined latents (25 steps)" in text and "+2.53 dB against PCA" in text
    psnr_row = next(line for line in text.splitlines() if line.startswith("| PSNR"))
    assert "27.20" in psnr_row and psnr_row.rstrip(" |").endswith("refined latents (25 steps)")
    scores.pop("autoencoder_refined")  # a run without --refine-steps: the table as before
    write_json(tmp_path / "metrics.json", {**scores, "size": 64, "latent_dim": 256, "n_images": 1337, "split": "val"})
    doc = Doc()
    section_autoencoder(doc, Found(embed=tmp_path))
    assert "refined" not in doc.markdown(tmp_path)
