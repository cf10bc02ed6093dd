"""How probekit feeds each modality: one adapter class per kind of input.

A :class:`LoadedModel`'s modality (``loaded.modality``, from its ``kind``) chooses one
:class:`ModalityAdapter` (``loaded.adapter``). The adapter encodes a batch of the
model's inputs into forward keyword arguments, makes a sample input, says which
extraction options apply, and turns recorded activations into store rows; the
extraction loop (:func:`probekit.extract.extract`), module listing
(:func:`probekit.extract.inspect.output_shapes`), input checks
(:func:`probekit.pipeline.check_inputs`) and the CLI call it instead of branching on the
modality.

Adding a modality is one subclass and one :func:`register_modality` call (plus the
loader that makes its :class:`LoadedModel`, or :func:`probekit.models.wrap_model` with
the new ``kind``)::

    class VectorInputs(ModalityAdapter):
        name = "vector"
        example_column = "vector"

        def encode(self, loaded, batch, config):
            return {"x": torch.tensor(batch, dtype=torch.float32)}

        def sample_inputs(self, loaded):
            return {"x": torch.zeros(1, loaded.info["n_features"])}

    register_modality(VectorInputs(), kinds=("vector-mlp",))
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import asdict

import torch

from probekit.errors import ProbekitError
from probekit.extract.image_inputs import encode_images, grey_image_inputs, image_batches, pixel_inputs
from probekit.extract.text_inputs import (SAMPLE_TEXT, default_token_selection, encode_text, token_counts,
                                          validate_token_counts)
from probekit.extract.token_selection import TokenSelection, select_tokens
from probekit.models.base import KIND_MODALITY, LoadedModel

#: Extraction options that only some modalities use, with their "not set" value and
#: what they do (for the message refusing them where they do not apply).
EXCLUSIVE_OPTIONS = {
    "num_workers": (0, "decodes images in worker processes"),
    "max_tokens_per_batch": (None, "batches texts by tokens"),
}

#: Row reader: ``(module name, activation (batch, ...), forward kwargs) -> (rows, index)``;
#: ``index`` is ``(example, position)`` int64 tensors ``(n_rows,)`` or ``None`` (one row
#: per example, position -1).
RowReader = Callable[[str, torch.Tensor, dict], tuple[torch.Tensor, tuple | None]]


class ModalityAdapter:
    """How to feed one modality to probekit; subclass it and :func:`register_modality`.

    Class attributes
    ----------------
    name : str
        The modality (``"text"``, ``"image"``, ...); data sets name it in
        ``metadata["modality"]``.
    example_column : str
        Column of the store's ``examples.parquet`` holding each input (as a string).
    data_hint : str
        How to give data of this modality (ends the mismatch message of
        :func:`probekit.pipeline.check_modality`).
    options : frozenset of str
        The :data:`EXCLUSIVE_OPTIONS` this modality uses; the others are refused.
    extractable : bool
        Whether :func:`probekit.extract.extract` can feed it.
    """

    name = "input"
    example_column = "input"
    data_hint = "give a data set whose inputs this model takes"
    options: frozenset = frozenset()
    extractable = True

    def encode(self, loaded: LoadedModel, batch, config) -> dict[str, torch.Tensor]:
        """Forward keyword arguments for one batch of inputs, on the model's device.

        Parameters
        ----------
        loaded : LoadedModel
            The model fed.
        batch : object
            One item of :meth:`batches` (by default a list of ``batch`` inputs).
        config : ExtractionConfig
            The extraction's settings (``max_length``, ...).

        Returns
        -------
        dict of str to torch.Tensor
            Each of leading dimension ``batch`` (e.g. ``input_ids`` / ``attention_mask`` of
            shape ``(batch, pos)``, or ``pixel_values`` ``(batch, 3, H, W)``).

        Raises
        ------
        ProbekitError
            Always, in the base class: a subclass must say how its inputs are encoded.
        """
        raise ProbekitError(f"no input encoding for {self.name!r} models: {type(self).__name__} must "
                            "define encode()")

    def sample_inputs(self, loaded: LoadedModel) -> dict[str, torch.Tensor]:
        """Forward keyword arguments of one sample input (batch of one), on the model's device.

        Parameters
        ----------
        loaded : LoadedModel
            The model fed.

        Returns
        -------
        dict of str to torch.Tensor
            Each of leading dimension 1.

        Raises
        ------
        ProbekitError
            Always, in the base class.
        """
        raise ProbekitError(f"no sample input for a {loaded.kind} model (modality {self.name!r})")

    def check_options(self, config) -> None:
        """Refuse the :data:`EXCLUSIVE_OPTIONS` set in ``config`` that this modality does not use.

        Parameters
        ----------
        config : ExtractionConfig
            The extraction's settings.

        Raises
        ------
        ProbekitError
            Naming the option, its value and what it is for.
        """
        for option, (unset, purpose) in EXCLUSIVE_OPTIONS.items():
            value = getattr(config, option)
            if value != unset and option not in self.options:
                flag = "--" + option.replace("_", "-")
                raise ProbekitError(f"{option}={value} {purpose}; this {self.name} model does not use it: "
                                    f"drop {flag}" + ("" if option == "num_workers" else " (use --batch-size)"))

    def batches(self, loaded: LoadedModel, inputs: list, config, start: int, stop: int) -> Iterator[tuple[int, object]]:
        """Batches of examples ``start .. stop - 1``, ``config.batch_size`` at a time, in order.

        Parameters
        ----------
        loaded : LoadedModel
            The model fed.
        inputs : list
            All the data set's inputs (``ConceptDataset.inputs``).
        config : ExtractionConfig
            The extraction's settings (``batch_size``, ``num_workers``, ...).
        start, stop : int
            The examples ``[start, stop)`` to batch.

        Yields
        ------
        (int, object)
            The batch's first example index and the batch, which goes to :meth:`encode`.
            Default: slices of ``inputs``.
        """
        for first in range(start, stop, config.batch_size):
            yield first, inputs[first:min(first + config.batch_size, stop)]

    def lengths(self, loaded: LoadedModel, inputs: list) -> list[int]:
        """Length of each input (tokens), for ``max_tokens_per_batch``.

        Parameters
        ----------
        loaded : LoadedModel
            The model fed.
        inputs : list
            The inputs.

        Returns
        -------
        list of int
            One length per input.

        Raises
        ------
        ProbekitError
            In the base class: the modality has no lengths.
        """
        raise ProbekitError(f"{self.name} inputs have no length to batch by; use --batch-size")

    def prepare(self, loaded: LoadedModel, dataset, config, points) -> dict:
        """Validate ``dataset`` against the model before any forward pass.

        Parameters
        ----------
        loaded : LoadedModel
            The model fed.
        dataset : ConceptDataset
            The data set extracted.
        config : ExtractionConfig
            The extraction's settings.
        points : list of HookPoint
            The hook points recorded.

        Returns
        -------
        dict
            Extra store info (JSON-able) for the manifest. Default: nothing to check, ``{}``.

        Raises
        ------
        ProbekitError
            In subclasses, inputs the model cannot take (e.g. empty texts).
        """
        return {}

    def record(self, loaded: LoadedModel, config) -> tuple[dict, dict]:
        """This modality's entries for the store's manifest.

        Parameters
        ----------
        loaded : LoadedModel
            The model fed.
        config : ExtractionConfig
            The extraction's settings.

        Returns
        -------
        (dict, dict)
            ``(identity, info)``: what must match to reuse a store, and what is only
            reported (both JSON-able). Default ``({}, {})``.
        """
        return {}, {}

    def row_reader(self, loaded: LoadedModel, config, points) -> RowReader:
        """How recorded activations become rows (see :data:`RowReader`).

        Parameters
        ----------
        loaded : LoadedModel
            The model fed.
        config : ExtractionConfig
            The extraction's settings.
        points : list of HookPoint
            The hook points recorded.

        Returns
        -------
        RowReader
            ``read(module, tensor, inputs) -> (rows, index)``. Default: each example's
            activation flattened to ``(batch, prod(rest))``, index ``None``.
        """
        def read(module: str, tensor: torch.Tensor, inputs: dict):
            return tensor.reshape(tensor.shape[0], -1), None
        return read

    def fit_config(self, loaded: LoadedModel, config):
        """``config`` adjusted to the model (e.g. ``max_length`` capped at the context).

        Parameters
        ----------
        loaded : LoadedModel
            The model fed.
        config : ExtractionConfig
            The extraction's settings.

        Returns
        -------
        ExtractionConfig
            Default: ``config`` unchanged.

        Raises
        ------
        ProbekitError
            Settings the model cannot honour.
        """
        return config

    def facts(self, config, manifest: dict) -> dict:
        """Report lines on how inputs were read.

        Parameters
        ----------
        config : ExtractionConfig
            The extraction's settings.
        manifest : dict
            The store's manifest (``identity``, ``info``).

        Returns
        -------
        dict of str to str
            Label -> text. Default ``{}``.
        """
        return {}

    def baselines(self, loaded: LoadedModel, config) -> list[tuple[str, LoadedModel, object]]:
        """Input baselines to probe next to the model.

        A modality with any also gets the random-init baseline
        (:func:`probekit.pipeline.run_probe` with ``baselines``).

        Parameters
        ----------
        loaded : LoadedModel
            The model fed.
        config : ExtractionConfig
            The extraction's settings.

        Returns
        -------
        list of (str, LoadedModel, ExtractionConfig)
            ``(variant, model, extraction config)``. Default ``[]``.
        """
        return []


#: modality name -> adapter; filled by :func:`register_modality`.
ADAPTERS: dict[str, ModalityAdapter] = {}


def register_modality(adapter: ModalityAdapter, kinds: tuple[str, ...] = ()) -> ModalityAdapter:
    """Make ``adapter`` the one for ``adapter.name`` and map model kinds to it.

    Parameters
    ----------
    adapter : ModalityAdapter
        The adapter; replaces any registered under the same name.
    kinds : tuple of str
        Model kinds (the ``kind`` of :class:`LoadedModel`) mapped to ``adapter.name`` in
        :data:`probekit.models.base.KIND_MODALITY`.

    Returns
    -------
    ModalityAdapter
        ``adapter``.

    Raises
    ------
    ProbekitError
        A kind already mapped to another modality.
    """
    taken = {k: KIND_MODALITY[k] for k in kinds if KIND_MODALITY.get(k, adapter.name) != adapter.name}
    if taken:
        raise ProbekitError(f"model kinds already belong to other modalities: {taken}")
    ADAPTERS[adapter.name] = adapter
    KIND_MODALITY.update({k: adapter.name for k in kinds})
    return adapter


def unregister_modality(name: str) -> None:
    """Remove the adapter of modality ``name`` and the kinds mapped to it (tests, plug-ins).

    Parameters
    ----------
    name : str
        The modality; an unknown name is a no-op.
    """
    ADAPTERS.pop(name, None)
    for kind in [k for k, m in KIND_MODALITY.items() if m == name]:
        del KIND_MODALITY[kind]


def adapter_for(modality: str) -> ModalityAdapter:
    """The adapter of ``modality`` (``"text"``, ``"image"``, ...).

    Parameters
    ----------
    modality : str
        A registered modality name.

    Returns
    -------
    ModalityAdapter

    Raises
    ------
    ProbekitError
        No adapter registered for it (the registered ones are named).
    """
    if modality not in ADAPTERS:
        raise ProbekitError(f"no input adapter for modality {modality!r}; registered: {', '.join(ADAPTERS)} "
                            "(see probekit.extract.modalities.register_modality)")
    return ADAPTERS[modality]


def modality_hint(modality: str) -> str:
    """How to give data for ``modality`` (its adapter's ``data_hint``).

    Parameters
    ----------
    modality : str
        A modality name.

    Returns
    -------
    str
        A generic line when the modality is unknown.
    """
    try:
        return adapter_for(modality).data_hint
    except ProbekitError:
        return ModalityAdapter.data_hint


def sample_inputs(loaded: LoadedModel) -> dict[str, torch.Tensor]:
    """Keyword arguments for one forward pass of ``loaded.model`` on a sample input.

    From its modality's adapter: text models get
    :data:`~probekit.extract.text_inputs.SAMPLE_TEXT` (encoded as
    :func:`~probekit.extract.text_inputs.encode_text` does), image models a mid-grey
    256 x 256 image through their own preprocessing.

    Parameters
    ----------
    loaded : LoadedModel
        The model.

    Returns
    -------
    dict of str to torch.Tensor
        Batch of one, on the model's device.

    Raises
    ------
    ProbekitError
        A modality whose adapter makes no sample input (``sequence``).
    """
    return loaded.adapter.sample_inputs(loaded)


class TextInputs(ModalityAdapter):
    """Texts for language models: tokenized with padding, token selection, context checks."""

    name = "text"
    example_column = "text"
    data_hint = "give a text data set (a built-in name or a .csv/.jsonl/.parquet file with a text column)"
    options = frozenset({"max_tokens_per_batch"})

    def encode(self, loaded, batch, config):
        return encode_text(loaded, batch, config.max_length)

    def sample_inputs(self, loaded):
        return encode_text(loaded, [SAMPLE_TEXT], 64)

    def lengths(self, loaded, inputs):
        return token_counts(loaded, inputs)

    @staticmethod
    def selection(loaded: LoadedModel, config) -> TokenSelection:
        """``config.token_selection``, or the model kind's default (:func:`default_token_selection`).

        Parameters
        ----------
        loaded : LoadedModel
            The language model.
        config : ExtractionConfig
            The extraction's settings.

        Returns
        -------
        TokenSelection

        Raises
        ------
        ProbekitError
            A token selection that does not parse.
        """
        return TokenSelection.parse(config.token_selection or default_token_selection(loaded))

    def prepare(self, loaded, dataset, config, points):
        """Check the texts and the model before extraction.

        No empty texts, truncation counted (and warned about), the self-check run
        (``config.check``), padding invariance settled (:func:`probekit.check.settle_padding`).

        Parameters
        ----------
        loaded, dataset, config, points :
            As :meth:`ModalityAdapter.prepare`.

        Returns
        -------
        dict
            ``n_truncated`` and the first 100 ``truncated_examples`` (row indices).

        Raises
        ------
        ProbekitError
            An empty text, or a failed self-check (hidden states, sub-layer sums).
        """
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
        return {"n_truncated": len(truncated), "truncated_examples": truncated[:100]}

    def record(self, loaded, config):
        selection = self.selection(loaded, config)
        identity = {"token_selection": asdict(selection), "max_length": config.max_length,
                    "position_ids": bool(loaded.info.get("position_ids")),
                    "unpadded": bool(loaded.info.get("unpadded"))}
        return identity, {"token_selection": selection.method, "checked": bool(config.check)}

    def row_reader(self, loaded, config, points):
        selection = self.selection(loaded, config)

        def read(module, tensor, inputs):
            if tensor.ndim == 3:
                rows, example, position = select_tokens(tensor, inputs["attention_mask"], selection)
                return rows, (example, position)
            return tensor.reshape(tensor.shape[0], -1), None
        return read

    def fit_config(self, loaded, config):
        """``max_length`` checked against the model's context; the default is capped at it.

        Parameters
        ----------
        loaded, config :
            As :meth:`ModalityAdapter.fit_config`.

        Returns
        -------
        ExtractionConfig

        Raises
        ------
        ProbekitError
            An explicit ``max_length`` beyond the model's context
            (:func:`probekit.models.context.check_max_length`).
        """
        from dataclasses import fields, replace

        from probekit.models.context import check_max_length

        default = next(f.default for f in fields(type(config)) if f.name == "max_length")
        max_length = check_max_length(loaded, config.max_length, default=default)
        return config if max_length == config.max_length else replace(config, max_length=max_length)

    def facts(self, config, manifest):
        info, identity = manifest.get("info", {}), manifest.get("identity", {})
        if info.get("token_selection") is None:
            return {"max length": f"{config.max_length} tokens"}
        facts = {"token selection": info["token_selection"] + (
            " (default for this model kind)" if config.token_selection is None else "")}
        n_cut = info.get("n_truncated", 0)
        facts["truncated texts"] = (f"{n_cut} longer than {config.max_length} tokens were cut (their last "
                                    "token is not the text's last token)" if n_cut else "none")
        facts["self-check"] = "passed (hook points = hidden states)" if info.get("checked") else "skipped (--no-check)"
        facts["padding"] = ("none: each text ran alone (padding would change this model's values)"
                            if identity.get("unpadded") else f"{identity.get('padding_side')}"
                            + (", position_ids from the attention mask" if identity.get("position_ids") else "")
                            + " (checked equal to each text run alone)")
        facts["max length"] = f"{config.max_length} tokens"
        return facts


class ImageInputs(ModalityAdapter):
    """Image files for image classifiers: decoded and preprocessed (DataLoader workers),
    spatial axes pooled."""

    name = "image"
    example_column = "image_path"
    data_hint = "give image data as imagefolder:DIR (with --concept)"
    options = frozenset({"num_workers"})

    def batches(self, loaded, inputs, config, start, stop):
        loader = image_batches(loaded, inputs[start:stop], config.batch_size, config.num_workers)
        for i, pixels in enumerate(loader):
            yield start + i * config.batch_size, pixels

    def encode(self, loaded, batch, config):
        if isinstance(batch, torch.Tensor):  # pixels from batches()
            return pixel_inputs(loaded, batch)
        return encode_images(loaded, list(batch))

    def sample_inputs(self, loaded):
        return grey_image_inputs(loaded)

    def record(self, loaded, config):
        return {"pooling": config.pooling}, {}

    def row_reader(self, loaded, config, points):
        from probekit.extract.pooling import pool_spatial
        from probekit.extract.vision_points import point_layouts

        layouts = point_layouts(loaded.model, points)  # which axis holds the channels, per module

        def read(module, tensor, inputs):
            return pool_spatial(tensor, config.pooling, layout=layouts[module], where=module), None
        return read

    def facts(self, config, manifest):
        return {"spatial pooling": config.pooling}

    def baselines(self, loaded, config):
        """A fixed random projection of the pixels (:func:`probekit.models.pixels.pixel_projection_model`).

        Parameters
        ----------
        loaded, config :
            As :meth:`ModalityAdapter.baselines`.

        Returns
        -------
        list of (str, LoadedModel, ExtractionConfig)
            One ``("pixel-projection", model, config)`` recording its ``projection`` module.
        """
        from dataclasses import replace

        from probekit.models.pixels import pixel_projection_model

        return [("pixel-projection", pixel_projection_model(loaded), replace(config, modules=["projection"]))]


class SequenceInputs(ModalityAdapter):
    """Token-id sequences of the from-scratch sequence models (:mod:`probekit.models.sequence`);
    recorded with :class:`~probekit.extract.recorder.ActivationRecorder`, not :func:`extract`."""

    name = "sequence"
    example_column = "sequence"
    data_hint = "record sequence models with ActivationRecorder"
    extractable = False


register_modality(TextInputs())
register_modality(ImageInputs())
register_modality(SequenceInputs())


__all__ = ["ADAPTERS", "EXCLUSIVE_OPTIONS", "ModalityAdapter", "RowReader", "adapter_for", "modality_hint",
           "register_modality", "unregister_modality",
           "sample_inputs", "TextInputs", "ImageInputs", "SequenceInputs"]
