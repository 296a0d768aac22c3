"""A tiny Stable-Diffusion pipeline with random weights, built offline, for LoRA tests and GPU checks.

Usage::

    from tiny_sd import build_tiny_sd
    path = build_tiny_sd(tmp_path / "tiny-sd")        # a diffusers folder: model_index.json, unet/, vae/, ...

    python tests/tiny_sd.py /tmp/tiny-sd              # the same from the shell

Every component has the real Stable Diffusion 1.x class (UNet2DConditionModel with cross-attention, AutoencoderKL,
CLIPTextModel, CLIPTokenizer, DDPMScheduler), only much smaller: the same code paths run, in seconds, on a CPU.
The images it makes are noise; that is expected.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

TEXT_DIM = 32
MAX_TOKENS = 77


def _write_tokenizer_files(folder: Path) -> None:
    """A byte-level BPE vocabulary: every byte character, alone and word-final (``</w>``), plus the specials.

    With every byte in the vocabulary any prompt tokenizes (one token per character, a few merges aside), so
    tests never hit an out-of-vocabulary id. ``CLIPTokenizer(vocab_file=..., merges_file=...)`` silently
    ignores the files in transformers 5, so the files are written and loaded with ``from_pretrained``.
    """
    from transformers.convert_slow_tokenizer import bytes_to_unicode

    chars = list(bytes_to_unicode().values())
    tokens = chars + [c + "</w>" for c in chars]
    merges = ["t h", "th e</w>", "i n", "o f</w>"]
    for m in merges:
        tokens.append(m.replace(" ", ""))
    tokens += ["<|startoftext|>", "<|endoftext|>"]
    vocab = {tok: i for i, tok in enumerate(dict.fromkeys(tokens))}
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.json").write_text(json.dumps(vocab), encoding="utf-8")
    (folder / "merges.txt").write_text("#version: 0.2\n" + "\n".join(merges) + "\n", encoding="utf-8")


def build_tiny_sd(path: str | Path, seed: int = 0) -> Path:
    """Save a random tiny SD pipeline to ``path`` (a diffusers folder) and return it.

    Shapes: images ``(B, 3, 8k, 8k)`` -> latents ``(B, 4, 4k, 4k)`` (the VAE downsamples by 2); text
    ``(B, 77)`` token ids -> ``(B, 77, 32)`` hidden states. Any resolution divisible by 8 works.
    """
    import torch
    from diffusers import AutoencoderKL, DDPMScheduler, StableDiffusionPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    path = Path(path)
    torch.manual_seed(seed)
    unet = UNet2DConditionModel(
        sample_size=16, in_channels=4, out_channels=4, layers_per_block=1,
        block_out_channels=(32, 64), down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
        up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"), cross_attention_dim=TEXT_DIM,
        attention_head_dim=8, norm_num_groups=32)
    vae = AutoencoderKL(
        in_channels=3, out_channels=3, latent_channels=4, block_out_channels=(32, 64), layers_per_block=1,
        down_block_types=("DownEncoderBlock2D", "DownEncoderBlock2D"),
        up_block_types=("UpDecoderBlock2D", "UpDecoderBlock2D"), norm_num_groups=32, sample_size=32)
    with tempfile.TemporaryDirectory() as tok_dir:
        _write_tokenizer_files(Path(tok_dir))
        tokenizer = CLIPTokenizer.from_pretrained(tok_dir, model_max_length=MAX_TOKENS)
    text_encoder = CLIPTextModel(CLIPTextConfig(
        vocab_size=len(tokenizer), hidden_size=TEXT_DIM, intermediate_size=64, num_hidden_layers=2,
        num_attention_heads=4, max_position_embeddings=MAX_TOKENS, bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id))
    # The real SD 1.5 noise schedule, so timesteps, SNR and the inference schedulers behave as they would.
    scheduler = DDPMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                              num_train_timesteps=1000, clip_sample=False, steps_offset=1)
    pipe = StableDiffusionPipeline(vae=vae, text_encoder=text_encoder, tokenizer=tokenizer, unet=unet,
                                   scheduler=scheduler, safety_checker=None, feature_extractor=None,
                                   requires_safety_checker=False)
    pipe.save_pretrained(str(path))
    return path


if __name__ == "__main__":
    out = build_tiny_sd(sys.argv[1] if len(sys.argv) > 1 else "/tmp/tiny-sd")
    print(out)
