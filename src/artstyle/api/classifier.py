"""A loaded classify run: the multi-crop prediction of ``artstyle classify predict``, and its feature space.

Usage::

    clf = Classifier("runs/classify/<run>")
    pred = clf.predict("photo.jpg", topk=5)     # {"top": [{"style", "probability"}...], "crops": [...], ...}
    preds, skipped = clf.predict_files(["a.jpg", "b.png"])          # what `classify predict --json` prints
    predict_files(run, ["a.jpg"], topk=5)                           # the same, loading the run first
    vectors = clf.features(images)              # uint8 (N, S, S, 3) -> (N, D) penultimate features

The image is decoded at the run's ``cache_size`` with its resize policy, then the probabilities are averaged
over the run's grid of ``size`` crops (``classify.predict_crops``): the same numbers as the test report.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np

from artstyle.api.images import ImageLike, UnusableImage, decode, describe

PREDICT_CHUNK = 256
"""Files decoded and predicted per group by :meth:`Classifier.predict_files` (``classify predict``)."""


def pick_device(device: str | None = None) -> Any:
    """``device``, or (None / ``auto``) the one training and every other inference path use
    (``artstyle.inference.inference_device``: the GPU when there is one, else the CPU)."""
    import torch

    from artstyle.inference import inference_device

    return torch.device(device) if device and device != "auto" else inference_device()


class Classifier:
    """A classify run loaded for inference (model in eval mode on ``device``)."""

    def __init__(self, run: str | Path, device: str | None = None) -> None:
        from artstyle.classify import load_classifier, run_policy
        from artstyle.runs import find_run

        from artstyle.inference import on_device

        self.run = find_run(run)
        self.model, self.info = load_classifier(self.run)
        self.precision = self.info.get("precision")  # the run's --precision: autocast on a GPU, fp32 on the CPU
        self.place = on_device(self.model, self.precision, pick_device(device))
        self.device = self.place.device
        self.classes: list[str] = list(self.info["classes"])
        self.size, self.cache_size, self.grid = self.info["size"], self.info["cache_size"], self.info["tta"]
        self.policy = run_policy(self.info)
        self.synthetic = bool(self.info["config"].get("data", {}).get("synthetic"))

    def decode(self, image: ImageLike, name: str | None = None) -> np.ndarray:
        """uint8 ``(cache_size, cache_size, 3)``: ``image`` as prediction sees it."""
        return decode(image, self.cache_size, self.policy, name or describe(image))

    def predict_arrays(self, images: np.ndarray, tta: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """``(probs (N, C), per_crop (N, g*g, C))`` for uint8 ``(N, cache_size, cache_size, 3)``."""
        from artstyle.classify import predict_crops

        return predict_crops(self.model, images, self.size, tta or self.grid, device=self.device,
                             precision=self.precision)

    def _predict_and_vote(self, images: np.ndarray, tta: int) -> tuple[np.ndarray, np.ndarray, list[dict[str, Any]]]:
        """:meth:`predict_arrays` and the picture model's own vote of each image (``classify.predict_and_vote``)."""
        from artstyle.classify import predict_and_vote

        return predict_and_vote(self.model, images, self.size, tta or self.grid, self.classes, device=self.device,
                                precision=self.precision)

    def boxes(self, tta: int = 0) -> list[list[int]]:
        """Each crop's ``[y, x, h, w]`` in the decoded image, in the order of ``per_crop``."""
        from artstyle.classify import grid_offsets

        offsets = grid_offsets(self.cache_size, self.size, tta or self.grid)
        return [[y, x, self.size, self.size] for y in offsets for x in offsets]

    def _result(self, probs: np.ndarray, per_crop: np.ndarray, topk: int, boxes: list[list[int]],
                picture: dict[str, Any]) -> dict[str, Any]:
        top = np.argsort(-probs)[:min(topk, len(self.classes))]
        crops = [{"box": box, "style": self.classes[int(c.argmax())], "probability": float(c.max())}
                 for box, c in zip(boxes, per_crop)]
        out = {"top": [{"style": self.classes[i], "probability": float(probs[i])} for i in top], "crops": crops}
        return {**out, "picture": picture} if picture else out  # the picture model's own vote (--picture-stats)

    def predict(self, image: ImageLike, topk: int = 5, tta: int = 0) -> dict[str, Any]:
        """Top-``topk`` styles of one image, each crop's vote, and everything the app draws.

        Returns ``{"top", "crops", "probabilities" (style -> p, all styles, sums to 1), "image" (the decoded
        uint8 array), "per_crop" ((g*g, C) array), "boxes"}``, and ``"picture"`` (the whole picture's statistics'
        own vote) for a run with a picture model. An unusable image raises ArtstyleError.
        """
        arr = self.decode(image)
        probs, per_crop, votes = self._predict_and_vote(arr[None], tta)
        boxes = self.boxes(tta)
        out = self._result(probs[0], per_crop[0], topk, boxes, votes[0])
        out.update(probabilities={c: float(p) for c, p in zip(self.classes, probs[0])}, image=arr,
                   per_crop=per_crop[0], boxes=boxes)
        return out

    def predict_files(self, paths: Sequence[str | Path], topk: int = 5, tta: int = 0
                      ) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
        """``(predictions, skipped)`` as ``artstyle classify predict --json`` prints them; unreadable files skipped.
        A directory in ``paths`` stands for its image files (sorted, not recursive).

        Files are decoded and predicted ``PREDICT_CHUNK`` at a time, so memory stays flat however many are given.
        """
        from artstyle.inference import expand_images

        preds: list[dict[str, Any]] = []
        skipped: list[dict[str, str]] = []
        boxes, paths = self.boxes(tta), expand_images(paths)  # a folder: its image files
        for start in range(0, len(paths), PREDICT_CHUNK):
            decoded, names = [], []
            for path in paths[start:start + PREDICT_CHUNK]:
                try:
                    decoded.append(self.decode(path, name=str(path)))
                    names.append(str(path))
                except UnusableImage as exc:
                    skipped.append({"path": str(path), "reason": exc.reason})
            if decoded:
                probs, per_crop, votes = self._predict_and_vote(np.stack(decoded), tta)
                preds += [{"path": n, **self._result(p, c, topk, boxes, v)}
                          for n, p, c, v in zip(names, probs, per_crop, votes)]
        return preds, skipped

    def features(self, images: np.ndarray, batch_size: int = 128) -> np.ndarray:
        """Penultimate features ``(N, D)`` float32 of the centre ``size`` crop of uint8 ``(N, S, S, 3)`` images
        (beside the whole image's view for a model trained with one: ``classify train --global-view``)."""
        import torch

        from artstyle.classify import model_crops

        out = []
        with torch.no_grad(), self.place.autocast():
            for i in range(0, len(images), batch_size):
                x = self.place.images(model_crops(self.model, images[i:i + batch_size], self.size, 1)[:, 0])
                out.append(self.model.forward_features(x).float().flatten(1).cpu().numpy())
        return np.concatenate(out) if out else np.zeros((0, 0), np.float32)

    def embed(self, image: ImageLike) -> np.ndarray:
        """The classifier's feature vector ``(D,)`` of one image (the space :meth:`Studio.neighbours` searches)."""
        return self.features(self.decode(image)[None])[0]


def predict_files(run: str | Path, paths: Sequence[str | Path], topk: int = 5, tta: int = 0,
                  device: str | None = None) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
    """``artstyle classify predict``: load ``run`` and predict ``paths`` (see :meth:`Classifier.predict_files`)."""
    return Classifier(run, device).predict_files(paths, topk, tta)


__all__ = ["Classifier", "pick_device", "predict_files"]
