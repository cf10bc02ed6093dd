"""Batched extraction: a data set through a model, selected rows streamed to a store."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from tqdm.auto import tqdm

from probekit.concepts.dataset import ConceptDataset
from probekit.errors import ProbekitError
from probekit.extract.hook_points import HookPoint, resolve_hook_points
from probekit.extract.recorder import ActivationRecorder
from probekit.extract.image_inputs import encode_images, image_batches  # noqa: F401  (public here too)
from probekit.extract.token_selection import TokenSelection
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

    Parameters
    ----------
    value : int or str
        A number of bytes, or a number with a unit.

    Returns
    -------
    int
        Bytes, ``>= 1``.

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

    How inputs are batched, encoded and turned into rows is the model's modality adapter's
    (``loaded.adapter``, :mod:`probekit.extract.modalities`): texts are tokenized and their
    tokens selected, images decoded and their spatial axes pooled.

    Resumable: if ``out_dir`` holds an unfinished store of the same configuration, only
    the missing shards are computed; a finished one is returned at once.

    Parameters
    ----------
    loaded:
        Model from :func:`probekit.models.load_model`.
    dataset:
        Inputs (texts, image paths, or what a registered modality's adapter encodes) and
        labels; or a plain sequence of inputs, extracted without labels
        (:meth:`~probekit.concepts.ConceptDataset.from_inputs`).
    config:
        :class:`ExtractionConfig`.
    out_dir:
        Store folder.
    overwrite:
        Replace a store of another configuration (or an unreadable one) in ``out_dir``.
    progress:
        Show a progress bar.
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
        a ``shard`` that is not ``i/N`` with ``0 <= i < N``, an option the modality does
        not use (``num_workers`` for a text model, ``max_tokens_per_batch`` for an image
        model), a modality that extract() cannot feed (``sequence``).
    """
    shard = None if shard is None else parse_shard(shard)
    adapter = loaded.adapter
    if not isinstance(dataset, ConceptDataset):
        dataset = ConceptDataset.from_inputs(dataset, modality=loaded.modality)
    points = resolve_hook_points(loaded.model, config.modules)
    if not adapter.extractable:
        raise ProbekitError(f"extract() cannot feed {loaded.name!r}, a {loaded.kind} model (modality "
                            f"{loaded.modality!r}): record it with ActivationRecorder instead")
    adapter.check_options(config)
    shard_examples = -(-config.shard_examples // config.unit) * config.unit
    prepared = adapter.prepare(loaded, dataset, config, points)
    identity, info = _store_record(loaded, dataset, config, points, prepared)
    stop, writer_class = len(dataset), StoreWriter
    if shard is not None:  # a partial store: identity and info name the slice
        identity["slice"] = list(slice_bounds(len(dataset), config.unit, shard))
        stop, writer_class, info["shard"] = identity["slice"][1], PartWriter, "/".join(map(str, shard))
    writer = writer_class(out_dir, identity, dtype=config.store_dtype, shard_examples=shard_examples,
                          overwrite=overwrite, info=info, shard_bytes=config.shard_bytes)
    try:
        write_examples(out_dir, dataset, adapter.example_column)  # also added to a finished store of an older probekit
        if not writer.complete:
            _write_batches(loaded, dataset, config, points, writer, progress, stop)
            writer.finish(stop)
    finally:
        writer.close()  # releases the store's lock, also when the extraction failed
    return ActivationStore(out_dir), points


#: Identity keys of the built-in modalities, ``None`` where a modality does not set them
#: (as every store written before the adapters has them, so its identity hash is unchanged).
_MODALITY_KEYS = ("token_selection", "pooling", "max_length", "position_ids", "unpadded")


def _store_record(loaded: LoadedModel, dataset: ConceptDataset, config: ExtractionConfig,
                  points: list[HookPoint], prepared: dict):
    """The store's identity (what must match to resume or reuse it) and its info; the
    modality adapter adds its own entries (``prepared``: what its ``prepare`` returned)."""
    extra_identity, extra_info = loaded.adapter.record(loaded, config)
    identity = {
        "model": loaded.name,
        # a LoadedModel built by hand may carry no hash: hash the weights themselves, so
        # that other weights never get this store back
        "weights_hash": loaded.weights_hash or hash_parameters(loaded.model),
        "hook_points": [(p.name, p.module) for p in points],
        "data_fingerprint": dataset.fingerprint,
        "n_examples": len(dataset),
        "batch_size": config.batch_size,
        "padding_side": getattr(loaded.tokenizer, "padding_side", None),
        **dict.fromkeys(_MODALITY_KEYS),
        **extra_identity,
    }
    if config.max_tokens_per_batch is not None:  # absent otherwise: stores of fixed batches keep their hash
        identity["max_tokens_per_batch"] = config.max_tokens_per_batch
    info = {
        "hook_points": {p.name: {"module": p.module, "layer": p.layer, "kind": p.kind} for p in points},
        "model_source": loaded.source,
        "model_info": loaded.info,
        "dataset": dataset.name,
        "token_selection": None,
        "checked": None,
        "n_truncated": 0,
        "truncated_examples": [],
        **extra_info,
        **prepared,
    }
    return identity, info


def _write_batches(loaded: LoadedModel, dataset: ConceptDataset, config: ExtractionConfig,
                   points: list[HookPoint], writer: StoreWriter, progress: bool, stop: int | None = None) -> None:
    """Run the examples the store lacks (before ``stop``, default all) through the model
    and append their rows, ``batch_size`` examples per append, in example order."""
    adapter = loaded.adapter
    module_to_point = {p.module: p.name for p in points}
    read = adapter.row_reader(loaded, config, points)
    state: dict = {}

    def transform(module_name: str, tensor: torch.Tensor) -> torch.Tensor:
        rows, index = read(module_name, tensor, state["inputs"])
        if index is not None:
            state["index"] = index
        return rows

    start, n, batch_size = writer.examples_done, len(dataset) if stop is None else stop, config.batch_size
    bar = tqdm(desc=f"extracting {len(points)} hook points", disable=not progress, initial=start, total=n,
               unit="example")
    with ActivationRecorder(loaded.model, [p.module for p in points], stop_early=config.stop_early,
                            transform=transform) as recorder, bar:
        def forward(inputs):
            return _forward(loaded, recorder, inputs, config, state, module_to_point)

        if config.max_tokens_per_batch is not None:
            batches = _token_budget_rows(loaded, dataset, config, forward, start, n)
        else:
            batches = ((first, *forward(batch)) for first, batch in adapter.batches(loaded, dataset.inputs,
                                                                                    config, start, n))
        for first, rows, example, position in batches:
            writer.append(rows, example + first, position)
            bar.update(min(batch_size, n - first))


def _forward(loaded: LoadedModel, recorder: ActivationRecorder, inputs, config: ExtractionConfig, state: dict,
             module_to_point: dict):
    """One batch (as the adapter's ``batches`` gives it) through the model: ``(rows per hook
    point, example index within the batch, position)``; models that padding would change
    run one input per pass (``loaded.info["unpadded"]``, see settle_padding)."""
    size = 1 if loaded.info.get("unpadded") else len(inputs)
    parts = [(*_run_batch(loaded, recorder, inputs[i:i + size], config, state), i)
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
        lengths = np.minimum(loaded.adapter.lengths(loaded, texts), config.max_length)
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
               state: dict):
    """One forward pass: the selected rows per module, their example and position indices."""
    batch = loaded.adapter.encode(loaded, inputs, config)
    state["inputs"], state["index"] = batch, None
    acts = dict(recorder.run(**batch))
    if state["index"] is not None:
        example, position = state["index"]
    else:
        example = torch.arange(len(inputs))
        position = torch.full((len(inputs),), -1, dtype=torch.long)
    return acts, example, position
