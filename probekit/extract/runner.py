"""Batched extraction: a data set through a model, selected rows streamed to a store."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import torch
from tqdm.auto import tqdm

from probekit.concepts.dataset import ConceptDataset
from probekit.errors import ProbekitError
from probekit.extract.hook_points import HookPoint, resolve_hook_points
from probekit.extract.recorder import ActivationRecorder
from probekit.extract.text_inputs import (default_token_selection, encode_text, model_device,
                                          validate_token_counts)
from probekit.extract.token_selection import TokenSelection, select_tokens
from probekit.models.base import LoadedModel
from probekit.models.hashing import hash_parameters
from probekit.store import ActivationStore, PartWriter, StoreWriter, parse_shard, slice_bounds
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
        :class:`~probekit.extract.token_selection.TokenSelection`. ``None`` (default):
        ``last`` for causal language models, ``mean`` for encoders (their last token is
        a separator).
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
    shard_size:
        Bytes per store shard at most (an int, or text such as ``"256MB"``, ``"1GiB"``);
        a shard closes before the batch that would overflow it, so memory stays bounded
        by one shard plus one batch however many token rows the data gives.
    check:
        Run :func:`probekit.check.cheap_check` first (text models): the residual hook
        points must reproduce ``output_hidden_states`` and padded runs the unpadded ones;
        a failure stops with a :class:`ProbekitError` naming the check.
    """

    modules: list[str] = field(default_factory=lambda: ["resid"])
    token_selection: str | None = None
    pooling: str = "mean"
    batch_size: int = 16
    max_length: int = 256
    store_dtype: str = "float32"
    stop_early: bool = True
    shard_examples: int = 1024
    shard_size: int | str = "256MiB"
    check: bool = True

    def __post_init__(self) -> None:
        if isinstance(self.modules, str):
            self.modules = [m for m in self.modules.split(",") if m.strip()]
        if not self.modules:
            raise ProbekitError("no modules requested; e.g. modules=['resid'] or ['model.layers.*']")
        if self.token_selection is not None:
            TokenSelection.parse(self.token_selection)  # validates
        if self.batch_size < 1:
            raise ProbekitError(f"batch_size must be >= 1, not {self.batch_size}")
        if self.store_dtype not in STORE_DTYPES:
            raise ProbekitError(f"unknown store dtype {self.store_dtype!r}; valid: {', '.join(STORE_DTYPES)}")
        self.shard_bytes  # validates

    @property
    def shard_bytes(self) -> int:
        """:attr:`shard_size` in bytes."""
        return parse_size(self.shard_size)


_UNITS = {"": 1, "B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "KIB": 2**10, "MIB": 2**20, "GIB": 2**30}


def parse_size(value: int | str) -> int:
    """``256MB`` -> 256,000,000; ``1GiB`` -> 2**30; an int is bytes.

    Raises
    ------
    ProbekitError
        Not a positive size with a known unit (B, KB, MB, GB, KiB, MiB, GiB).
    """
    import re

    if isinstance(value, int) and not isinstance(value, bool):
        number, unit = value, ""
    else:
        match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*", str(value))
        if not match or match.group(2).upper() not in _UNITS:
            raise ProbekitError(f"shard size {value!r} is not a size; write e.g. 256MB, 1GiB or a number of bytes")
        number, unit = float(match.group(1)), match.group(2).upper()
    size = int(number * _UNITS[unit])
    if size < 1:
        raise ProbekitError(f"shard size must be positive, not {value!r}")
    return size


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
    shard: tuple[int, int] | str | None = None,
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
    shard:
        ``(i, N)`` or ``"i/N"``: extract only the ``i``-th (from 0) of ``N`` contiguous
        slices of the examples (whole batches, see
        :func:`probekit.store.parts.slice_bounds`) into a partial store, for
        :func:`probekit.store.merge_stores`. ``None``: every example.

    Returns
    -------
    (ActivationStore, list of HookPoint)
        The finished store (keys = hook point names) and the recorded hook points.

    Raises
    ------
    ProbekitError
        Unknown modules, unwritable folder, folder holding a store of another config,
        a ``shard`` that is not ``i/N`` with ``0 <= i < N``.
    """
    shard = None if shard is None else parse_shard(shard)
    points = resolve_hook_points(loaded.model, config.modules)
    text = loaded.kind != "image-classifier"
    selection = TokenSelection.parse(config.token_selection or default_token_selection(loaded))
    shard_examples = -(-config.shard_examples // config.batch_size) * config.batch_size
    truncated = _prepare_text(loaded, dataset, config, points) if text else []
    identity, info = _store_record(loaded, dataset, config, points, selection if text else None, truncated)
    stop, writer_class = len(dataset), StoreWriter
    if shard is not None:  # a partial store: identity and info name the slice
        identity["slice"] = list(slice_bounds(len(dataset), config.batch_size, shard))
        stop, writer_class, info["shard"] = identity["slice"][1], PartWriter, "/".join(map(str, shard))
    writer = writer_class(out_dir, identity, dtype=config.store_dtype, shard_examples=shard_examples,
                          overwrite=overwrite, info=info, shard_bytes=config.shard_bytes)
    try:
        if not writer.complete:
            _write_batches(loaded, dataset, config, points, selection if text else None, writer, progress, stop)
            writer.finish(stop)
    finally:
        writer.close()  # releases the store's lock, also when the extraction failed
    return ActivationStore(out_dir), points


def _store_record(loaded: LoadedModel, dataset: ConceptDataset, config: ExtractionConfig,
                  points: list[HookPoint], selection: TokenSelection | None, truncated: list[int]):
    """The store's identity (what must match to resume or reuse it) and its info."""
    text = selection is not None
    identity = {
        "model": loaded.name,
        # a LoadedModel built by hand may carry no hash: hash the weights themselves, so
        # that other weights never get this store back
        "weights_hash": loaded.weights_hash or hash_parameters(loaded.model),
        "hook_points": [(p.name, p.module) for p in points],
        "token_selection": asdict(selection) if text else None,
        "pooling": None if text else config.pooling,
        "data_fingerprint": dataset.fingerprint,
        "n_examples": len(dataset),
        "batch_size": config.batch_size,
        "max_length": config.max_length if text else None,
        "padding_side": getattr(loaded.tokenizer, "padding_side", None),
        "position_ids": bool(loaded.info.get("position_ids")) if text else None,
        "unpadded": bool(loaded.info.get("unpadded")) if text else None,
    }
    info = {
        "hook_points": {p.name: {"module": p.module, "layer": p.layer, "kind": p.kind} for p in points},
        "model_source": loaded.source,
        "model_info": loaded.info,
        "dataset": dataset.name,
        "token_selection": selection.method if text else None,
        "checked": bool(config.check) if text else None,
        "n_truncated": len(truncated),
        "truncated_examples": truncated[:100],
    }
    return identity, info


def _write_batches(loaded: LoadedModel, dataset: ConceptDataset, config: ExtractionConfig,
                   points: list[HookPoint], selection: TokenSelection | None, writer: StoreWriter,
                   progress: bool, stop: int | None = None) -> None:
    """Run the examples the store lacks (before ``stop``, default all) through the model
    and append their rows."""
    text = selection is not None
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

    start, n, batch_size = writer.examples_done, len(dataset) if stop is None else stop, config.batch_size
    with ActivationRecorder(loaded.model, [p.module for p in points], stop_early=config.stop_early,
                            transform=transform) as recorder:
        for first in tqdm(range(start, n, batch_size), desc=f"extracting {len(points)} hook points",
                          disable=not progress, initial=start // batch_size,
                          total=-(-n // batch_size), unit="batch"):
            inputs = dataset.inputs[first:first + batch_size]
            # models that padding would change run one text per pass (see settle_padding)
            size = 1 if text and loaded.info.get("unpadded") else len(inputs)
            parts = [(*_run_batch(loaded, recorder, inputs[i:i + size], config, state, text), i)
                     for i in range(0, len(inputs), size)]
            rows = {module_to_point[m]: torch.cat([acts[m].float() for acts, *_ in parts]) for m in parts[0][0]}
            example = torch.cat([ex + off for _, ex, _, off in parts])
            position = torch.cat([pos for _, _, pos, _ in parts])
            writer.append(rows, example + first, position)


def _run_batch(loaded: LoadedModel, recorder: ActivationRecorder, inputs: list, config: ExtractionConfig,
               state: dict, text: bool):
    """One forward pass: the selected rows per module, their example and position indices."""
    if text:
        batch = encode_text(loaded, inputs, config.max_length)
        state["mask"], state["index"] = batch["attention_mask"], None
    else:
        batch = encode_images(loaded, inputs)
    acts = dict(recorder.run(**batch))
    if text and state["index"] is not None:
        example, position = state["index"]
    else:
        example = torch.arange(len(inputs))
        position = torch.full((len(inputs),), -1, dtype=torch.long)
    return acts, example, position


def _prepare_text(loaded: LoadedModel, dataset: ConceptDataset, config: ExtractionConfig,
                  points: list[HookPoint]) -> list[int]:
    """Validate a text data set against the model before any forward pass: no empty
    examples, truncation counted (and warned about), padding invariance settled.

    Returns the indices of the examples that ``max_length`` truncates."""
    import warnings

    from probekit.check import CheckReport, cheap_check, check_sublayer_sums, settle_padding

    truncated = validate_token_counts(loaded, list(dataset.inputs), config.max_length)
    if config.check:
        cheap_check(loaded)
        if any(p.kind in ("attn", "mlp", "cross_attn") for p in points):
            CheckReport(loaded.name, [check_sublayer_sums(loaded)]).raise_if_failed()
    if truncated:
        warnings.warn(f"{len(truncated)} of {len(dataset)} examples are longer than max_length="
                      f"{config.max_length} tokens and are truncated (e.g. rows "
                      f"{', '.join(map(str, truncated[:5]))}); their last token is not the text's last "
                      "token. Raise --max-length to keep whole texts", stacklevel=3)
    settle_padding(loaded)
    return truncated
