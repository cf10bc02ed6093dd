"""Penultimate (pooled, pre-classifier) features of image models, extracted through a store."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from torch import nn

from probekit.errors import ProbekitError

__all__ = ["PENULTIMATE_MODULES", "penultimate_features", "penultimate_module"]

#: Module names whose output is the pooled, pre-classifier feature, tried in order
#: (EfficientNet-Lite, torchvision ResNets, timm, HF vision encoders).
PENULTIMATE_MODULES = ("_avg_pooling", "avgpool", "global_pool", "pooler")


def penultimate_module(model: nn.Module) -> str:
    """The module whose output is an image classifier's penultimate (pooled) features.

    ``model.FEATURE_MODULE`` if set, else the first of :data:`PENULTIMATE_MODULES` that
    ``model`` has.

    Parameters
    ----------
    model : torch.nn.Module
        The classifier.

    Returns
    -------
    str
        A module name.

    Raises
    ------
    ProbekitError
        None of them exists (the message lists the model's last module names).
    """
    names = [n for n, _ in model.named_modules()]
    declared = getattr(model, "FEATURE_MODULE", None)
    for cand in ((declared,) if declared else ()) + PENULTIMATE_MODULES:
        if cand in names:
            return cand
    raise ProbekitError(f"cannot find the penultimate pooling module (tried {', '.join(PENULTIMATE_MODULES)}); "
                        f"last modules: {names[-8:]}")


def penultimate_features(models: dict, dataset, out_dir, batch_size: int = 32, progress: bool = False,
                         modules: dict | None = None) -> dict[str, np.ndarray]:
    """Mean-pooled penultimate features of each model on ``dataset``, via :func:`probekit.extract.extract`.

    Parameters
    ----------
    models : dict of str -> LoadedModel
        Image models (e.g. trained, random-init, a :class:`~probekit.models.pixels.PixelProjection`).
    dataset : ConceptDataset
        Image paths (labels are not used).
    out_dir : path
        One activation store per model under ``out_dir/<name>`` (resumed or reused when it
        holds a finished store of the same configuration).
    batch_size : int
    progress : bool
    modules : dict of str -> str, optional
        Module per model name; default :func:`penultimate_module` of each model.

    Returns
    -------
    dict of str -> ndarray of shape (n_samples, d_model), float64
        Rows in ``dataset`` order.
    """
    from probekit.extract.runner import ExtractionConfig, extract

    out: dict[str, np.ndarray] = {}
    for name, loaded in models.items():
        module = (modules or {}).get(name) or penultimate_module(loaded.model)
        cfg = ExtractionConfig(modules=[module], pooling="mean", batch_size=batch_size, store_dtype="float32")
        store, points = extract(loaded, dataset, cfg, Path(out_dir) / name, progress=progress)
        key = points[0].name
        rows = np.argsort(store.example_index(), kind="stable")
        out[name] = np.asarray(store.numpy(key), dtype=np.float64)[rows]
    return out
