"""Batched extraction: a data set through a model, selected rows streamed to a store."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import torch
from tqdm.auto import tqdm

from probekit.concepts.dataset import ConceptDataset
from probekit.errors import ProbekitError
from probekit.extract.hook_points import HookPoint, resolve_hook_points
from probekit.extract.recorder import ActivationRecorder
from probekit.extract.token_selection import TokenSelection, select_tokens
from probekit.models.base import LoadedModel
from probekit.store import ActivationStore, StoreWriter
from probekit.store.manifest import STORE_DTYPES


@dataclass
class ExtractionConfig:
    """What to record and how.

    Parameters
    ----------
    modules:
        Hook point keywords (``resid``, ``attn``, ``mlp``), hook point names/globs
        (``blocks.*.resid_post``) or module names/globs (``model.layers.*``, ``*.mlp``).
    token_selection:
        ``last``, ``mean``, ``all`` or ``positions:0,-1`` (text models); see
        :class:`~probekit.extract.token_selection.TokenSelection`.
    pooling:
        Spatial pooling for image models: ``mean``, ``max``, ``flatten``, ``cls``.
    batch_size:
        Examples per forward pass.
    max_length:
        Truncate tokenized inputs to this many tokens.
    store_dtype:
        ``float32``, ``float16`` or ``bfloat16`` on disk.
    stop_early:
        Cut the forward pass after the last requested module.
    shard_examples:
        Examples per store shard (rounded up to a multiple of ``batch_size``).
    """

    modules: list[str] = field(default_factory=lambda: ["resid"])
    token_selection: str = "last"
    pooling: str = "mean"
    batch_size: int = 16
    max_length: int = 256
    store_dtype: str = "float32"
    stop_early: bool = True
    shard_examples: int = 1024

    def __post_init__(self) -> None:
        if isinstance(self.modules, str):
            self.modules = [m for m in self.modules.split(",") if m.strip()]
        if not self.modules:
            raise ProbekitError("no modules requested; e.g. modules=['resid'] or ['model.layers.*']")
        TokenSelection.parse(self.token_selection)  # validates
        if self.batch_size < 1:
            raise ProbekitError(f"batch_size must be >= 1, not {self.batch_size}")
        if self.store_dtype not in STORE_DTYPES:
            raise ProbekitError(f"unknown store dtype {self.store_dtype!r}; valid: {', '.join(STORE_DTYPES)}")


def model_device(model: torch.nn.Module) -> torch.device:
    """Device of the model's first parameter (CPU for parameter-free models)."""
    try:
        return next(model.parameters()).device
    except StopIteration:
        return torch.device("cpu")


def encode_text(loaded: LoadedModel, texts: list[str], max_length: int) -> dict[str, torch.Tensor]:
    """Tokenize a batch with padding; returns tensors on the model's device."""
    batch = loaded.tokenizer(list(texts), padding=True, truncation=True, max_length=max_length,
                             return_tensors="pt")
    device = model_device(loaded.model)
    return {k: v.to(device) for k, v in batch.items()}


def encode_images(loaded: LoadedModel, paths: list[str]) -> dict[str, torch.Tensor]:
    """Open and preprocess a batch of image files into ``(batch, 3, H, W)``."""
    from PIL import Image

    tensors = []
    for path in paths:
        with Image.open(path) as image:
            tensors.append(loaded.preprocess(image.convert("RGB")))
    reference = next(loaded.model.parameters(), None)
    dtype = reference.dtype if reference is not None and reference.is_floating_point() else torch.float32
    pixels = torch.stack(tensors).to(model_device(loaded.model), dtype)
    key = loaded.info.get("input_name", "x")
    return {key: pixels}


def extract(
    loaded: LoadedModel,
    dataset: ConceptDataset,
    config: ExtractionConfig,
    out_dir,
    overwrite: bool = False,
    progress: bool = True,
) -> tuple[ActivationStore, list[HookPoint]]:
    """Run ``dataset`` through ``loaded.model`` and stream the selected rows to a store.

    Resumable: if ``out_dir`` holds an unfinished store of the same configuration, only
    the missing shards are computed; a finished one is returned at once.

    Parameters
    ----------
    loaded:
        Model from :func:`probekit.models.load_model`.
    dataset:
        Inputs (texts or image paths) and labels.
    config:
        :class:`ExtractionConfig`.
    out_dir:
        Store folder.

    Returns
    -------
    (ActivationStore, list of HookPoint)
        The finished store (keys = hook point names) and the recorded hook points.

    Raises
    ------
    ProbekitError
        Unknown modules, unwritable folder, folder holding a store of another config.
    """
    points = resolve_hook_points(loaded.model, config.modules)
    selection = TokenSelection.parse(config.token_selection)
    batch_size = config.batch_size
    shard_examples = -(-config.shard_examples // batch_size) * batch_size
    text = loaded.kind != "image-classifier"
    identity = {
        "model": loaded.name,
        "weights_hash": loaded.weights_hash,
        "hook_points": [(p.name, p.module) for p in points],
        "token_selection": asdict(selection) if text else None,
        "pooling": None if text else config.pooling,
        "data_fingerprint": dataset.fingerprint,
        "n_examples": len(dataset),
        "batch_size": batch_size,
        "max_length": config.max_length if text else None,
        "padding_side": getattr(loaded.tokenizer, "padding_side", None),
    }
    info = {
        "hook_points": {p.name: {"module": p.module, "layer": p.layer, "kind": p.kind} for p in points},
        "model_source": loaded.source,
        "model_info": loaded.info,
        "dataset": dataset.name,
    }
    writer = StoreWriter(out_dir, identity, dtype=config.store_dtype, shard_examples=shard_examples,
                         overwrite=overwrite, info=info)
    if writer.complete:
        return ActivationStore(out_dir), points
    module_to_point = {p.module: p.name for p in points}
    if not text:
        from probekit.extract.vision_points import point_layouts

        layouts = point_layouts(loaded.model, points)  # which axis holds the channels, per module
    state: dict = {}

    def transform(module_name: str, tensor: torch.Tensor) -> torch.Tensor:
        if text:
            if tensor.ndim == 3:
                rows, example, position = select_tokens(tensor, state["mask"], selection)
                state["index"] = (example, position)
                return rows
            return tensor.reshape(tensor.shape[0], -1)
        from probekit.extract.pooling import pool_spatial

        return pool_spatial(tensor, config.pooling, layout=layouts[module_name], where=module_name)

    start = writer.examples_done
    n = len(dataset)
    with ActivationRecorder(loaded.model, [p.module for p in points], stop_early=config.stop_early,
                            transform=transform) as recorder:
        for first in tqdm(range(start, n, batch_size), desc=f"extracting {len(points)} hook points",
                          disable=not progress, initial=start // batch_size,
                          total=-(-n // batch_size), unit="batch"):
            inputs = dataset.inputs[first:first + batch_size]
            if text:
                batch = encode_text(loaded, inputs, config.max_length)
                state["mask"] = batch["attention_mask"]
                state["index"] = None
            else:
                batch = encode_images(loaded, inputs)
            acts = recorder.run(**batch)
            if text and state["index"] is not None:
                example, position = state["index"]
            else:
                example = torch.arange(len(inputs))
                position = torch.full((len(inputs),), -1, dtype=torch.long)
            writer.append({module_to_point[m]: acts[m].float() for m in acts},
                          example + first, position)
    writer.finish(n)
    return ActivationStore(out_dir), points
