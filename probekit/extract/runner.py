"""Batched extraction: a data set through a model, selected rows streamed to a store."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
from tqdm.auto import tqdm

from probekit.concepts.dataset import ConceptDataset
from probekit.errors import ProbekitError
from probekit.extract.hook_points import HookPoint, resolve_hook_points
from probekit.extract.recorder import ActivationRecorder
from probekit.extract.text_inputs import (default_token_selection, encode_text, model_device, token_counts,
                                          validate_token_counts)
from probekit.extract.token_selection import TokenSelection, select_tokens
from probekit.models.base import LoadedModel
from probekit.models.hashing import hash_parameters
from probekit.store import ActivationStore, PartWriter, StoreWriter, parse_shard, slice_bounds
from probekit.store.datasets import write_examples
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
        Examples per forward pass; under ``max_tokens_per_batch``, the examples per
        append to the store (the passes follow the token budget).
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
    max_tokens_per_batch:
        Text models: batch by a token budget instead of ``batch_size`` examples. The
        examples of each window of :data:`SORT_WINDOW` examples (rounded up to whole
        ``batch_size`` batches) are sorted by token count (longest first) and cut into
        forward passes of at most this many padded tokens (examples x longest); one
        example longer than the budget runs alone. Rows are written in the original
        example order; values equal fixed batches' up to padding round-off (checked
        <= 1e-5). ``None`` (default): fixed batches of ``batch_size``.
    num_workers:
        Image models: decode and preprocess images in this many DataLoader worker
        processes (0, default: in the main process). Same values either way.
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
    max_tokens_per_batch: int | None = None
    num_workers: int = 0

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
        budget = self.max_tokens_per_batch
        if budget is not None and (isinstance(budget, bool) or not isinstance(budget, int) or budget < 1):
            raise ProbekitError(f"max_tokens_per_batch must be a positive integer (tokens per forward pass, "
                                f"e.g. 4096) or None for fixed batches, not {budget!r}")
        workers = self.num_workers
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 0:
            raise ProbekitError(f"num_workers must be an integer >= 0 (0: decode images in the main process), "
                                f"not {workers!r}")

    @property
    def unit(self) -> int:
        """Examples handled as one: a batch, or under a token budget one sort window
        (:data:`SORT_WINDOW` rounded up to whole batches). Shards start, and
        ``--shard`` / torchrun slices are cut, at multiples of it."""
        if self.max_tokens_per_batch is None:
            return self.batch_size
        return -(-SORT_WINDOW // self.batch_size) * self.batch_size

    @property
    def shard_bytes(self) -> int:
        """:attr:`shard_size` in bytes."""
        return parse_size(self.shard_size)


#: Examples sorted by length together under ``max_tokens_per_batch`` (rounded up to whole batches).
SORT_WINDOW = 256

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
    return _pixel_inputs(loaded, torch.stack([_ImageFiles(paths, loaded.preprocess)[i] for i in range(len(paths))]))


class _ImageFiles(torch.utils.data.Dataset):
    """Image files decoded and preprocessed one by one (in DataLoader workers, or not)."""

    def __init__(self, paths: list[str], preprocess):
        self.paths, self.preprocess = list(paths), preprocess

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int) -> torch.Tensor:
        from PIL import Image

        with Image.open(self.paths[i]) as image:
            return self.preprocess(image.convert("RGB"))


def _pixel_inputs(loaded: LoadedModel, pixels: torch.Tensor) -> dict[str, torch.Tensor]:
    """``(batch, 3, H, W)`` pixels as the model's forward keyword argument, on its device and dtype."""
    reference = next(loaded.model.parameters(), None)
    dtype = reference.dtype if reference is not None and reference.is_floating_point() else torch.float32
    return {loaded.info.get("input_name", "x"): pixels.to(model_device(loaded.model), dtype)}


def image_batches(loaded: LoadedModel, paths: list[str], batch_size: int, num_workers: int = 0):
    """Preprocessed ``(batch, 3, H, W)`` float tensors of consecutive ``batch_size`` images,
    decoded by a torch DataLoader with ``num_workers`` worker processes (0: this one)."""
    from torch.utils.data import DataLoader

    cuda = model_device(loaded.model).type == "cuda"
    return DataLoader(_ImageFiles(paths, loaded.preprocess), batch_size=batch_size, shuffle=False,
                      num_workers=num_workers, pin_memory=cuda)


def token_budget_batches(lengths, max_tokens: int) -> list[np.ndarray]:
    """Group examples into forward passes of at most ``max_tokens`` padded tokens.

    Parameters
    ----------
    lengths:
        ``(n,)`` tokens per example (after truncation).
    max_tokens:
        Budget per pass: examples x the longest of them. An example longer than the
        budget runs alone.

    Returns
    -------
    list of numpy.ndarray (int64)
        Indices into ``lengths``, longest first (stable: ties keep their order); every
        index exactly once.
    """
    lengths = np.asarray(lengths, dtype=np.int64)
    order = np.argsort(-lengths, kind="stable")
    batches, begin = [], 0
    while begin < len(order):
        longest = max(int(lengths[order[begin]]), 1)
        size = max(1, max_tokens // longest)  # sorted longest first: the first example sets the width
        batches.append(order[begin:begin + size])
        begin += size
    return batches


def extract(
    loaded: LoadedModel,
    dataset: ConceptDataset | Sequence[str],
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
        Inputs (texts or image paths) and labels; or a plain sequence of texts (image
        paths for an image model), extracted without labels
        (:meth:`~probekit.concepts.ConceptDataset.from_inputs`).
    config:
        :class:`ExtractionConfig`.
    out_dir:
        Store folder.
    shard:
        ``(i, N)`` or ``"i/N"``: extract only the ``i``-th (from 0) of ``N`` contiguous
        slices of the examples (whole batches, or whole sort windows under
        ``max_tokens_per_batch``: :attr:`ExtractionConfig.unit`; see
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
        a ``shard`` that is not ``i/N`` with ``0 <= i < N``, ``num_workers`` for a text
        model or ``max_tokens_per_batch`` for an image model.
    """
    shard = None if shard is None else parse_shard(shard)
    if not isinstance(dataset, ConceptDataset):
        dataset = ConceptDataset.from_inputs(dataset, modality=loaded.modality)
    points = resolve_hook_points(loaded.model, config.modules)
    if loaded.modality not in ("text", "image"):
        raise ProbekitError(f"extract() feeds text and image models; {loaded.name!r} is a {loaded.kind} model "
                            f"(modality {loaded.modality!r}): record it with ActivationRecorder instead")
    text = loaded.modality == "text"
    _check_modality_options(config, text)
    selection = TokenSelection.parse(config.token_selection or default_token_selection(loaded))
    shard_examples = -(-config.shard_examples // config.unit) * config.unit
    truncated = _prepare_text(loaded, dataset, config, points) if text else []
    identity, info = _store_record(loaded, dataset, config, points, selection if text else None, truncated)
    stop, writer_class = len(dataset), StoreWriter
    if shard is not None:  # a partial store: identity and info name the slice
        identity["slice"] = list(slice_bounds(len(dataset), config.unit, shard))
        stop, writer_class, info["shard"] = identity["slice"][1], PartWriter, "/".join(map(str, shard))
    writer = writer_class(out_dir, identity, dtype=config.store_dtype, shard_examples=shard_examples,
                          overwrite=overwrite, info=info, shard_bytes=config.shard_bytes)
    try:
        write_examples(out_dir, dataset, text)  # also added to a finished store of an older probekit
        if not writer.complete:
            _write_batches(loaded, dataset, config, points, selection if text else None, writer, progress, stop)
            writer.finish(stop)
    finally:
        writer.close()  # releases the store's lock, also when the extraction failed
    return ActivationStore(out_dir), points


def _check_modality_options(config: ExtractionConfig, text: bool) -> None:
    """Refuse options that do not apply to this kind of model."""
    if text and config.num_workers:
        raise ProbekitError(f"num_workers={config.num_workers} decodes images in worker processes; this is a "
                            "text model (texts are tokenized in the main process): drop --num-workers")
    if not text and config.max_tokens_per_batch is not None:
        raise ProbekitError(f"max_tokens_per_batch={config.max_tokens_per_batch} batches texts by tokens; this "
                            "is an image model: use --batch-size")


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
    if config.max_tokens_per_batch is not None:  # absent otherwise: stores of fixed batches keep their hash
        identity["max_tokens_per_batch"] = config.max_tokens_per_batch
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
    and append their rows, ``batch_size`` examples per append, in example order."""
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
    bar = tqdm(desc=f"extracting {len(points)} hook points", disable=not progress, initial=start, total=n,
               unit="example")
    with ActivationRecorder(loaded.model, [p.module for p in points], stop_early=config.stop_early,
                            transform=transform) as recorder, bar:
        def forward(inputs):
            return _forward(loaded, recorder, inputs, config, state, text, module_to_point)

        if config.max_tokens_per_batch is not None:
            batches = _token_budget_rows(loaded, dataset, config, forward, start, n)
        elif text:
            batches = ((first, *forward(dataset.inputs[first:first + batch_size]))
                       for first in range(start, n, batch_size))
        else:
            loader = image_batches(loaded, dataset.inputs[start:n], batch_size, config.num_workers)
            batches = ((start + i * batch_size, *forward(pixels)) for i, pixels in enumerate(loader))
        for first, rows, example, position in batches:
            writer.append(rows, example + first, position)
            bar.update(min(batch_size, n - first))


def _forward(loaded: LoadedModel, recorder: ActivationRecorder, inputs, config: ExtractionConfig, state: dict,
             text: bool, module_to_point: dict):
    """One batch (texts, or preprocessed pixels) through the model: ``(rows per hook
    point, example index within the batch, position)``; models that padding would
    change run one text per pass (see settle_padding)."""
    size = 1 if text and loaded.info.get("unpadded") else len(inputs)
    parts = [(*_run_batch(loaded, recorder, inputs[i:i + size], config, state, text), i)
             for i in range(0, len(inputs), size)]
    rows = {module_to_point[m]: torch.cat([acts[m].float() for acts, *_ in parts]) for m in parts[0][0]}
    example = torch.cat([ex + off for _, ex, _, off in parts])
    position = torch.cat([pos for _, _, pos, _ in parts])
    return rows, example, position


def _token_budget_rows(loaded: LoadedModel, dataset: ConceptDataset, config: ExtractionConfig, forward,
                       start: int, stop: int):
    """Under a token budget: per window of :attr:`ExtractionConfig.unit` examples, run
    :func:`token_budget_batches` of the length-sorted texts, then yield the rows back in
    example order as ``(first, rows, example - first, position)``, ``batch_size``
    examples at a time, from ``start`` on.

    Windows are fixed multiples of the unit (slices and shards start on them), and a
    resumed window is planned whole, so a resumed or sliced run makes exactly the
    passes an uninterrupted single process makes; passes holding only examples
    already written are skipped."""
    unit, batch_size = config.unit, config.batch_size
    for window in range(start // unit * unit, stop, unit):
        end = min(window + unit, stop)
        texts = dataset.inputs[window:end]
        lengths = np.minimum(token_counts(loaded, texts), config.max_length)
        pieces = []
        for batch in token_budget_batches(lengths, config.max_tokens_per_batch):
            if window + int(batch.max()) < start:
                continue
            rows, example, position = forward([texts[i] for i in batch])
            pieces.append((rows, torch.as_tensor(batch)[example] + window, position))
        example = torch.cat([e for _, e, _ in pieces])
        order = torch.sort(example, stable=True).indices  # example order; an example's rows keep theirs
        example, position = example[order], torch.cat([p for *_, p in pieces])[order]
        rows = {k: torch.cat([r[k] for r, *_ in pieces])[order] for k in pieces[0][0]}
        bounds = torch.searchsorted(example, torch.arange(max(window, start), end + batch_size, batch_size))
        for first, (lo, hi) in zip(range(max(window, start), end, batch_size), zip(bounds[:-1], bounds[1:])):
            yield first, {k: v[lo:hi] for k, v in rows.items()}, example[lo:hi] - first, position[lo:hi]


def _run_batch(loaded: LoadedModel, recorder: ActivationRecorder, inputs, config: ExtractionConfig,
               state: dict, text: bool):
    """One forward pass: the selected rows per module, their example and position indices."""
    if text:
        batch = encode_text(loaded, inputs, config.max_length)
        state["mask"], state["index"] = batch["attention_mask"], None
    else:
        batch = _pixel_inputs(loaded, inputs)
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
