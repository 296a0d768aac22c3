"""``--cache-latents``: VAE latents and text-encoder outputs computed once, in safetensors shards, for LoRA training.

Usage::

    dataset, info = latent_dataset(cfg, accelerator, model, cache, images, prompts)   # dataset None when off
    moments = dataset[(position, flip, offset)]["moments"]     # (2C, h, w): the VAE posterior's mean, log-variance

The frozen VAE and text encoder give the same output for the same image and prompt every epoch, so they run
once. What is stored is the VAE's posterior (mean and log-variance), for both flips when ``--flip`` is on;
training samples a latent from it every step exactly as the uncached path does, so a run with the cache equals
a run without it up to float rounding. Random crops change every epoch, so ``--crop random`` is never cached.

On disk, shared by every run on the same images, model, resolution, flip setting and dtype (the key)::

    <ARTSTYLE_CACHE>/lora-latents/<key hash>/
        meta.json                     what the key is made of
        latents-<id>.safetensors      rows (N,) int64 image-cache rows; moments (N, V, 2C, h, w), V = 2 with --flip
        text-<id>.safetensors         embeds (P, T, D) last hidden states; the P prompts in the metadata

Shards are written to a temporary name and renamed, so a killed encode keeps what it finished and the next
run encodes only the rest. Several processes (``accelerate launch``) split the work and each writes its shards.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from pathlib import Path
from typing import Any, Sequence

import torch

from artstyle.errors import ArtstyleError
from artstyle.lora.config import LoraTrainConfig

SHARD_IMAGES = 1024
ENCODE_BATCH = 8
_DTYPE_BYTES = {torch.float32: 4, torch.float16: 2, torch.bfloat16: 2}


def _model_files(pretrained: str, parts: Sequence[str]) -> list[tuple[str, int, int]]:
    """Names, sizes and mtimes of a local model folder's weights (a retrained folder gets a new key)."""
    path = Path(pretrained).expanduser()
    if not path.is_dir():
        return []
    return [(str(p.relative_to(path)), p.stat().st_size, int(p.stat().st_mtime)) for part in parts
            for p in sorted((path / part).glob("*")) if p.is_file()]


def cache_key(cfg: LoraTrainConfig, cache: Any, dtype: torch.dtype) -> dict[str, Any]:
    """What the cached tensors depend on: the image cache, the model (id or folder contents), the resolution,
    the flip setting and the dtype the VAE and text encoder run in."""
    local = Path(cfg.pretrained).expanduser()
    return {"version": 1, "images": str(Path(cache.root).resolve()), "fingerprint": cache.meta.get("fingerprint"),
            "pretrained": str(local.resolve()) if local.is_dir() else cfg.pretrained, "revision": cfg.revision,
            "variant": cfg.variant, "files": _model_files(cfg.pretrained, ("vae", "text_encoder")),
            "resolution": cfg.resolution, "crop": cfg.crop, "flip": cfg.flip, "dtype": str(dtype).removeprefix("torch.")}


def cache_dir(key: dict[str, Any]) -> Path:
    from artstyle.data.sources import cache_root

    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]
    return cache_root() / "lora-latents" / digest


def estimate_bytes(images: int, prompts: int, views: int, resolution: int, vae_config: Any, text_shape: tuple[int, int],
                   dtype: torch.dtype) -> int:
    """Disk bytes of the cache: ``images x views x 2C x (R/f)^2`` (f = the VAE's downsampling) + ``prompts x T x D``.

    >>> estimate_bytes(81_444, 0, 2, 512, {"latent_channels": 4, "block_out_channels": [1, 2, 3, 4]}, (77, 768),
    ...                torch.float16) / 1e9   # all of WikiArt at 512 px, both flips, fp16
    10.674892032
    """
    cfg = dict(vae_config)
    side = resolution // 2 ** (len(cfg["block_out_channels"]) - 1)
    per_image = views * 2 * int(cfg["latent_channels"]) * side * side
    return (images * per_image + prompts * text_shape[0] * text_shape[1]) * _DTYPE_BYTES[dtype]


def _free_bytes(directory: Path) -> int:
    probe = directory
    while not probe.exists():
        probe = probe.parent
    return shutil.disk_usage(probe).free


def decide(cfg: LoraTrainConfig, needed: int, missing: int, directory: Path) -> tuple[bool, str]:
    """``(use the cache, why)`` for ``--cache-latents`` auto/on/off; ``on`` that cannot work is an error."""
    if cfg.cache_latents == "off":
        return False, "--cache-latents off"
    if cfg.crop == "random":
        if cfg.cache_latents == "on":
            raise ArtstyleError("--cache-latents on needs --crop center: random crops are drawn anew every epoch, so "
                                "there is no fixed latent to store; use --crop center or --cache-latents off")
        return False, "--crop random: crops change every epoch"
    budget, free = int(cfg.latent_cache_gb * 1e9), _free_bytes(directory)
    if missing > free - 2**30:
        if cfg.cache_latents == "on":
            raise ArtstyleError(f"--cache-latents on: {missing / 1e9:.1f} GB to write but {free / 1e9:.1f} GB free "
                                f"under {directory.parent}; free space, set ARTSTYLE_CACHE elsewhere, or pass "
                                "--cache-latents off")
        return False, f"{missing / 1e9:.1f} GB needed, {free / 1e9:.1f} GB free on disk"
    if cfg.cache_latents == "auto" and needed > budget:
        return False, f"{needed / 1e9:.1f} GB is over --latent-cache-gb {cfg.latent_cache_gb:g}"
    return True, f"--cache-latents {cfg.cache_latents}: {needed / 1e9:.3g} GB"


def _write_shard(directory: Path, prefix: str, tensors: dict[str, torch.Tensor], metadata: dict[str, str]) -> None:
    from safetensors.torch import save_file

    name = f"{prefix}-{uuid.uuid4().hex[:12]}.safetensors"
    tmp = directory / f".{name}.tmp"
    save_file({k: v.contiguous() for k, v in tensors.items()}, str(tmp), metadata=metadata)
    os.replace(tmp, directory / name)


def _read_index(directory: Path) -> tuple[dict[int, tuple[str, int]], dict[str, tuple[str, int]]]:
    """``({cache row: (shard, index)}, {prompt: (shard, index)})`` of every finished shard."""
    from safetensors import safe_open

    rows, prompts = {}, {}
    for path in sorted(directory.glob("latents-*.safetensors")):
        with safe_open(str(path), framework="pt") as f:
            rows.update({int(r): (path.name, j) for j, r in enumerate(f.get_tensor("rows").tolist())})
    for path in sorted(directory.glob("text-*.safetensors")):
        with safe_open(str(path), framework="pt") as f:
            names = json.loads(f.metadata()["prompts"])
        prompts.update({p: (path.name, j) for j, p in enumerate(names)})
    return rows, prompts


@torch.no_grad()
def _encode_images(model: Any, images: Any, positions: list[int], views: int, directory: Path, device: Any,
                   progress: bool) -> None:
    """VAE posteriors of ``images`` at ``positions`` (both flips when ``views`` is 2), in shards of SHARD_IMAGES."""
    from tqdm.auto import tqdm

    bar = tqdm(total=len(positions), desc="encode latents", unit="img", disable=not progress)
    for start in range(0, len(positions), SHARD_IMAGES):
        chunk, out = positions[start:start + SHARD_IMAGES], []
        for b in range(0, len(chunk), ENCODE_BATCH):
            keys = [(i, flip, 0.5) for i in chunk[b:b + ENCODE_BATCH] for flip in (False, True)[:views]]
            pixels = torch.stack([images.pixels(k) for k in keys]).to(device, dtype=model.weight_dtype)
            moments = model.vae.encode(pixels).latent_dist.parameters  # (B * V, 2C, h, w)
            out.append(moments.reshape(-1, views, *moments.shape[1:]).cpu())
            bar.update(len(keys) // views)
        rows = torch.tensor([images.rows[i] for i in chunk], dtype=torch.int64)
        _write_shard(directory, "latents", {"rows": rows, "moments": torch.cat(out)}, {})
    bar.close()


@torch.no_grad()
def _encode_prompts(model: Any, prompts: list[str], directory: Path, device: Any) -> None:
    """Last hidden states ``(P, T, D)`` of the text encoder for ``prompts``, tokenized as training does."""
    if not prompts:
        return
    tok = model.tokenizer
    out = []
    for b in range(0, len(prompts), 64):
        ids = tok(prompts[b:b + 64], padding="max_length", max_length=tok.model_max_length, truncation=True,
                  return_tensors="pt").input_ids
        out.append(model.text_encoder(ids.to(device), return_dict=False)[0].cpu())
    _write_shard(directory, "text", {"embeds": torch.cat(out)}, {"prompts": json.dumps(prompts)})


class CachedLatents:
    """Map-style dataset over cached shards, read by :class:`artstyle.lora.data.EpochSampler` keys:
    ``{"moments": (2C, h, w)}`` plus ``"prompt_embeds": (T, D)`` (cached prompts) or ``"input_ids": (T,)``.

    Shards are opened lazily in each worker and only the requested slices are read.
    """

    def __init__(self, directory: Path, where: list[tuple[str, int]], prompt_where: list[tuple[str, int]] | None,
                 input_ids: Any) -> None:
        self.directory, self.where, self.prompt_where, self.input_ids = Path(directory), where, prompt_where, input_ids
        self._files: dict[str, Any] = {}

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_files": {}}

    def __len__(self) -> int:
        return len(self.where)

    def _slice(self, name: str, tensor: str, j: int) -> torch.Tensor:
        from safetensors import safe_open

        if name not in self._files:
            self._files[name] = safe_open(str(self.directory / name), framework="pt")
        return self._files[name].get_slice(tensor)[j:j + 1][0]

    def __getitem__(self, key: tuple[int, bool, float]) -> dict[str, Any]:
        i, flip, _ = key
        name, j = self.where[i]
        moments = self._slice(name, "moments", j)  # (V, 2C, h, w)
        item = {"moments": moments[1 if flip and len(moments) > 1 else 0]}
        if self.prompt_where is not None:
            item["prompt_embeds"] = self._slice(self.prompt_where[i][0], "embeds", self.prompt_where[i][1])
        else:
            item["input_ids"] = self.input_ids[i]
        return item


def latent_dataset(cfg: LoraTrainConfig, accelerator: Any, model: Any, cache: Any, images: Any,
                   prompts: list[str]) -> tuple[CachedLatents | None, dict[str, Any]]:
    """The cached dataset (encoding what is missing first), or ``(None, info)`` when the cache is not used."""
    from artstyle.runs import write_json

    key = cache_key(cfg, cache, model.weight_dtype)
    directory = cache_dir(key)
    views, cache_text = 2 if cfg.flip else 1, not cfg.train_text_encoder
    unique = list(dict.fromkeys(prompts)) if cache_text else []
    text_shape = (model.tokenizer.model_max_length, int(model.text_encoder.config.hidden_size))
    needed = estimate_bytes(len(images), len(unique), views, cfg.resolution, model.vae.config, text_shape,
                            model.weight_dtype)
    have_rows, have_prompts = _read_index(directory) if directory.is_dir() else ({}, {})
    todo = [i for i, r in enumerate(images.rows) if r not in have_rows]
    new_prompts = [p for p in unique if p not in have_prompts]
    missing = estimate_bytes(len(todo), len(new_prompts), views, cfg.resolution, model.vae.config, text_shape,
                             model.weight_dtype)
    use, reason = decide(cfg, needed, missing, directory)
    info = {"dir": str(directory), "used": use, "reason": reason, "bytes": needed}
    if not use:
        return None, info
    accelerator.wait_for_everyone()  # every process has listed what is missing before any of them writes
    if todo or new_prompts:
        rank, world = accelerator.process_index, accelerator.num_processes
        with accelerator.main_process_first():
            directory.mkdir(parents=True, exist_ok=True)
            if accelerator.is_main_process:
                write_json(directory / "meta.json", key)
        _encode_images(model, images, todo[rank::world], views, directory, accelerator.device,
                       cfg.progress and accelerator.is_local_main_process)
        _encode_prompts(model, new_prompts[rank::world], directory, accelerator.device)
        accelerator.wait_for_everyone()
        have_rows, have_prompts = _read_index(directory)
    lost = [r for r in images.rows if r not in have_rows] + [p for p in unique if p not in have_prompts]
    if lost:
        raise ArtstyleError(f"latent cache {directory}: {len(lost)} images or prompts are missing after encoding "
                            f"(e.g. {lost[0]!r}); delete the folder and run again, or pass --cache-latents off")
    where = [have_rows[r] for r in images.rows]
    prompt_where = [have_prompts[p] for p in prompts] if cache_text else None
    return CachedLatents(directory, where, prompt_where, images.input_ids), info


__all__ = ["CachedLatents", "cache_key", "cache_dir", "decide", "estimate_bytes", "latent_dataset"]
