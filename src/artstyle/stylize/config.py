"""The ``artstyle stylize train`` settings, importable without torch (the CLI builds ``--help`` from them).

Usage: ``train_stylizer(StylizeConfig(data="builtin:0.1", size=64, judge="auto"))``.
"""

from __future__ import annotations

from dataclasses import dataclass

from artstyle.config import opt
from artstyle.constants import DATA_HELP
from artstyle.settings import TrainSettings

STYLE_SOURCES = ("learned", "mean-latent")
ADV_INPUTS = ("pixels", "classifier")


@dataclass
class StylizeConfig(TrainSettings):
    data: str = opt("builtin", DATA_HELP)
    label_column: str = opt("style", "Label column for Hugging Face sources.")
    size: int = opt(128, "Image size in pixels (a multiple of 8).")
    style_source: str = opt("learned", "Style vectors: learned (an embedding per style, trained end to end) or "
                            "mean-latent (the mean pooled encoder output of each style's training images).",
                            choices=STYLE_SOURCES)
    width: int = opt(16, "Base channel width of the encoder-decoder (the bottleneck, at 1/8 of the image side, has "
                     "4x this).")
    detail_gain: bool = opt(True, "Let the decoder scale the input's own fine (1-2 px) and middle (2-8 px) detail by "
                            "a gain in (0, 2) per 4 x 4 cell, beside the change it adds, so that a style can smooth the "
                            "photograph's detail away (oil, edge-preserving) or sharpen it, which the added change "
                            "alone cannot do (models/detail.py). On since issue 12's twentieth session: on the "
                            "real-image benchmark it brought re-renderings closer to the true renderings and raised the "
                            "judge's hit rate, at a lower SSIM to the input (docs/results.md, section 5). "
                            "--no-detail-gain: the network before.")
    detail_reach: int = opt(8, "The coarsest detail (px) the --detail-gain gains scale: 8 (bands of 1-2 and 2-8 px) or "
                            "32 (a third band, 8-32 px, so a style can flatten wider regions: flat segments, "
                            "watercolour washes).")
    pixel_head: bool = opt(False, "End the network with a style-modulated step at full resolution that changes each "
                           "pixel from its own 3 x 3 neighbourhood and the decoder's features (models/pixel_head.py): "
                           "a per-pixel function such as a palette, a few colour levels (posterize), a threshold "
                           "(dither) or pixel-thin strokes, which the 4 x 4 cells the decoder paints cannot make. Off: on the real-image benchmark it "
                           "scored -8 and +4 points against the default at two seeds, at 0.7x the training rate "
                           "(docs/results.md, section 5, twenty-second session).")
    blocks: int = opt(2, "AdaIN residual blocks at the bottleneck.")
    init_from: str = opt("", "An `artstyle embed train` run: start the stylizer from its autoencoder's weights, each "
                         "tensor whose name and shape match (the encoder's first stages); what did not match is "
                         "printed and listed in config.json under init_from. Use a grid autoencoder of the same "
                         "--width at the same pixel scale; on the real-image benchmark it tied a fresh start over "
                         "three seeds at an equal stylizer budget (plus the autoencoder's own training), and made no "
                         "difference on the built-in data (docs/results.md, section 5). The pipeline's "
                         "[stylize] init_from = \"embed\" uses its own embed stage.")
    classifier: str = opt("", "A classify run (from scratch) whose frozen predictions and features give the style "
                          "loss; several, comma-separated (resnet or texture runs of the same classes and size), "
                          "form an ensemble: mean logits, every member's Gram statistics (on the built-in data two "
                          "scored below one: docs/results.md, section 5). Empty: train a small resnet first, into "
                          "<run>/classifier/.")
    judge: str = opt("", "An INDEPENDENT classify run for the final evaluation; 'auto' trains a simple-cnn with "
                     "another seed into <run>/judge/; empty: no evaluation (run `artstyle stylize evaluate` later).")
    judge_view: str = opt("recipe", "How the judge reads a picture: recipe (its run's own prediction, the numbers of "
                          "its test report: crops at its scale, fused with its picture model) or network (the network "
                          "alone on the whole picture, as evaluations before issue 12's twentieth session).",
                          choices=("recipe", "network"))
    classifier_epochs: int = opt(8, "Epochs for a classifier or judge trained here (--classifier empty, --judge auto).")
    classifier_width: int = opt(16, "Width of a classifier or judge trained here.")
    w_rec: float = opt(1.0, "Weight of the L1 reconstruction with the image's own style.")
    w_style: float = opt(0.5, "Weight of the classifier cross-entropy towards the target style.")
    w_gram: float = opt(1.0, "Weight of the Gram-matrix loss against the target style's mean Gram matrices "
                        "(needs a classifier with feature maps: resnet or texture; 0 = off).")
    w_content: float = opt(0.5, "Weight of the classifier-feature content loss on re-renderings (0 = off).")
    w_cycle: float = opt(0.0, "Weight of a cycle reconstruction (StarGAN): L1 between each input and its "
                         "re-rendering rendered back in the input's own style (0 = off). Unlike --w-content, it does "
                         "not ask the re-rendering to keep the loss classifier's features of the source style, "
                         "only enough of the content to paint the input back; costs one more encoder-decoder pass "
                         "per step (0.85x the rate). Off: on the real-image benchmark --w-cycle 1 --w-content 0 "
                         "scored +2.4 points over four seeds (two wins, two losses) at 0.06 less SSIM to the input "
                         "(docs/results.md, section 5, twenty-third session).")
    style_ramp: int = opt(100, "Training steps over which --w-style and --w-gram rise linearly from 0 to their "
                          "value (0 = full weight from the start). Without it every early output turns one flat "
                          "colour that the loss classifier finds equally likely to be any style.")
    loss_jitter: float = opt(0.3, "Show the frozen loss classifier each re-rendering (and, for the content and Gram "
                             "terms, its input and the style targets) through a random view: a zoom into up to this "
                             "share of the side, a shift and a flip (0 = off: the exact pixels, the default before "
                             "issue 12's twelfth session). Against the exact pixels the stylizer learnt pixel patterns "
                             "that fool the loss classifier and not an independent judge; on the built-in data 0.3 "
                             "scored best of 0, 0.15, 0.3, 0.5 (on the real-image benchmark it gained nothing; "
                             "docs/results.md, section 5).")
    w_adv: float = opt(0.5, "Weight of the adversarial loss from a style-conditional PatchGAN discriminator trained "
                       "from scratch alongside (hinge loss, projection-conditioned; 0 = off, no discriminator). Its "
                       "weights and Adam state are saved beside the stylizer's; --resume reloads them. On since "
                       "issue 12's sixteenth session: at equal budget, 0.5 moved the real-image runs closest to what "
                       "a real painting of the target style overlaid on the input scores at the same SSIM (0.2 and "
                       "0.5 tied on the built-in data), and it takes the regular dot grid off most outputs, for "
                       "1.4 to 1.7x the time per step (docs/results.md, section 5). Needs training images of 16 px "
                       "or more.")
    adv_input: str = opt("pixels", "What the --w-adv discriminator sees: pixels (a PatchGAN on the picture, trained "
                         "from scratch) or classifier (small heads on the frozen loss classifier's feature maps, "
                         "Projected-GAN style: features that already tell the styles apart, so a re-rendering must "
                         "put its features where real pictures of the target style put theirs, not merely across "
                         "the classifier's boundary; needs a resnet or texture loss classifier). Pixels stays the "
                         "default: on the real-image benchmark classifier tied it over four seeds (+1.4 points) at "
                         "0.77x the training rate (docs/results.md, section 5, twenty-fourth session).",
                         choices=ADV_INPUTS)
    ema: float = opt(0.9, "mean-latent: momentum of the per-batch moving average of each style's mean code "
                     "(recomputed exactly over the training set after every epoch).")
    augment: bool = opt(True, "Random horizontal flips during training.")
    crop_size: int = opt(0, "Train on random square crops of this side (px) of the --size images, at their native "
                         "resolution (a multiple of 8; 0 = whole images). Fewer pixels per step (whether that is faster "
                         "depends on the loss classifier: docs/benchmarks.md); the network, fully convolutional, "
                         "still renders whole images of any size.")
    eval_pairs: int = opt(500, "Mismatched (test image, target style) pairs for the final evaluation.")
    lr: float = opt(1e-3, "Peak AdamW learning rate (after warmup, then cosine decay).")
    weight_decay: float = opt(0.0, "AdamW weight decay (not applied to biases and norms).")
    name: str = opt("", "Run name (default: the style source).")
    out: str = opt("", "Explicit run directory (default: runs/stylize/<timestamp>-<name>/).")
    overwrite: bool = opt(False, "Allow --out to be an existing, non-empty directory.")
    resume: str = opt("", "Continue the run in this directory exactly where its last checkpoint left off.")
    cache: str = opt("", "Use this prepared cache directory instead of preparing --data.")


__all__ = ["ADV_INPUTS", "StylizeConfig", "STYLE_SOURCES"]
