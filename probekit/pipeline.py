"""The main job: load a model and a concept data set, extract, probe every layer, report."""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np

from probekit.concepts import load_concept_dataset
from probekit.config import RunConfig
from probekit.devices import model_device, resolve_device
from probekit.errors import ProbekitError
from probekit.extract.distributed import extract_distributed, is_main_process, rank_device
from probekit.extract.runner import ExtractionConfig
from probekit.models import expected_modality, load_model
from probekit.probes.sweep import layer_sweep
from probekit.report import plot_probe_scores, write_report, write_results_csv, write_results_json
from probekit.runs import now_utc, run_record
from probekit.files import make_writable_dir


def check_modality(dataset, modality: str, model_name: str, kind: str | None = None) -> None:
    """Refuse a data set whose inputs are not what the model takes.

    Parameters
    ----------
    dataset:
        A :class:`~probekit.concepts.ConceptDataset`; its ``modality`` (``text`` /
        ``image``, set by the loaders) is compared; ``None`` (unknown) passes.
    modality:
        What the model takes: ``text``, ``image``, ... (see
        :data:`probekit.models.base.KIND_MODALITY`); its adapter's ``data_hint`` ends the message.
    model_name, kind:
        For the message (``kind`` when the model is loaded).

    Raises
    ------
    ProbekitError
        Text data for an image model, or image data for a text model.
    """
    have = getattr(dataset, "modality", None)
    if have is None or have == modality:
        return
    from probekit.extract.modalities import modality_hint

    hint = modality_hint(modality)
    raise ProbekitError(
        f"model {model_name!r}{f' ({kind})' if kind else ''} takes {modality} inputs, but data set "
        f"{dataset.name!r} holds {have} inputs; {hint}"
    )


def check_inputs(loaded, dataset, extraction: ExtractionConfig) -> ExtractionConfig:
    """Check a loaded model against the data and extraction settings, before extracting.

    Parameters
    ----------
    loaded : LoadedModel
        The model.
    dataset : ConceptDataset
        The data set (its ``metadata["modality"]``).
    extraction : ExtractionConfig
        The extraction settings.

    Returns
    -------
    ExtractionConfig
        ``extraction`` as the model's adapter fits it (``loaded.adapter.fit_config``):
        for text models ``max_length`` capped at the model's context when it was the
        default (see :func:`probekit.models.context.check_max_length`).

    Raises
    ------
    ProbekitError
        Modality mismatch (see :func:`check_modality`), options the model's modality
        does not use, or an explicit ``max_length`` longer than the model's context.
    """
    check_modality(dataset, loaded.modality, loaded.name, loaded.kind)
    loaded.adapter.check_options(extraction)
    return loaded.adapter.fit_config(loaded, extraction)


def run_probe(config: RunConfig) -> list[dict]:
    """Run a whole probe job and write its outputs into the output folder.

    Writes ``results.csv``, ``results.json``, ``probe_scores.png`` and ``report.md``.
    Activations go to ``OUT/activations`` (resumable; reused when the same
    configuration runs again). For image classifiers the same probes also run, as
    baselines, on the architecture at random initialisation
    (``OUT/activations-random-init``) and on a fixed random projection of the pixels
    (``OUT/activations-pixel-projection``); with ``random_init`` any model (language
    models too) is also probed at random initialisation. Rows carry a ``variant`` column.

    Every input is checked before anything is extracted (data set, modality against
    the model, ``max_length`` against the model's context). Result files are written
    under temporary names and renamed into place only once every probe has finished,
    so a failed run leaves every file already in the output folder (earlier results,
    the user's own files) untouched.

    Parameters
    ----------
    config : RunConfig
        The job (model, data set, extraction, probe, output folder).

    Returns
    -------
    list of dict
        One results row per hook point and variant (see
        :class:`probekit.probes.ProbeResult`); ``[]`` on a non-main process of a
        multi-process launch.

    Raises
    ------
    ProbekitError
        Any bad input (model, data set, modality, max_length, modules, output folder).
    """
    started = now_utc()
    out = Path(config.output_dir())
    make_writable_dir(out)
    t0 = time.perf_counter()
    dataset, loaded, extraction = _load_inputs(config)
    variants = _variants(config, loaded, extraction, out)
    t_load = time.perf_counter()
    rows, points, input_facts, extract_s, probe_s = _probe_variants(config, dataset, variants)
    if not is_main_process():
        return []
    timings = {"load_s": round(t_load - t0, 3), "extract_s": round(extract_s, 3), "probe_s": round(probe_s, 3)}
    chance = None
    if dataset.task != "continuous":
        chance = float(np.bincount(dataset.labels).max() / len(dataset))
    facts = _run_facts(config, dataset, loaded, extraction, variants, rows, points, input_facts, chance)
    facts["time"] = f"load {t_load - t0:.1f} s, extract {extract_s:.1f} s, probe {probe_s:.1f} s"
    config_dict = config.to_dict()
    config_dict.update(model_name=loaded.name)
    config_dict["extraction"]["max_length"] = extraction.max_length
    flat = {"model": loaded.name, "dataset": dataset.name}
    extra = {"facts": facts, "stores": {v[0]: str(v[3]) for v in variants}, "timings": timings,
             "data": {k: dataset.metadata.get(k) for k in ("duplicates", "label_mapping", "n_skipped")
                      if dataset.metadata.get(k) is not None},
             "run": run_record(config, "probe", started, device={"model": str(model_device(loaded.model)),
                                                                 "probe": str(resolve_device(config.probe.device))})}
    write_all_or_nothing(out, {
        "results.csv": lambda path: write_results_csv(rows, path),
        "probe_scores.png": lambda path: plot_probe_scores(rows, path, f"{loaded.name} — {dataset.name}", chance),
        "report.md": lambda path: write_report(rows, flat, path, facts),
        "results.json": lambda path: write_results_json(rows, config_dict, path, extra),
    })
    return rows


def _load_inputs(config: RunConfig):
    """The data set, the model, and the extraction config checked against both."""
    d, m = config.dataset, config.model
    dataset = load_concept_dataset(
        d.name, text_column=d.text_column, label_column=d.label_column, group_column=d.group_column,
        word_type_column=d.word_type_column, task=d.task, limit=d.limit, concept=d.concept, progress=config.progress,
    )
    # Cheap check before a (possibly slow) model load; check_inputs repeats it on the real kind.
    check_modality(dataset, expected_modality(m.name), m.name)
    loaded = load_model(m.name, weights=m.weights, dtype=m.dtype, device=rank_device(m.device),
                        device_map=m.device_map, trust_remote_code=m.trust_remote_code, padding_side=m.padding_side)
    return dataset, loaded, check_inputs(loaded, dataset, config.extraction)


def _variants(config: RunConfig, loaded, extraction, out: Path) -> list[tuple]:
    """``(variant, model, extraction config, store folder)``: the pretrained model, then the
    random-init baseline (with ``baselines`` for modalities that have input baselines, any
    model with ``random_init``) and the input baselines of the model's adapter (with
    ``baselines``; image models: the pixel projection)."""
    variants = [("pretrained", loaded, extraction, out / "activations")]
    input_baselines = loaded.adapter.baselines(loaded, extraction) if config.baselines else []
    if input_baselines or config.random_init:
        random_model = load_model(config.model.name, weights=config.model.weights, random_init=True,
                                  dtype=config.model.dtype, device=rank_device(config.model.device))
        variants.append(("random-init", random_model, extraction, out / "activations-random-init"))
    variants += [(variant, model, options, out / f"activations-{variant}") for variant, model, options in input_baselines]
    return variants


def _probe_variants(config: RunConfig, dataset, variants: list[tuple]):
    """Extract and probe every variant: ``(rows, hook points, input facts, extract_s, probe_s)``;
    the input facts (how inputs were read) come from the first variant's adapter and store."""
    rows, points, input_facts, extract_s, probe_s = [], [], None, 0.0, 0.0
    for variant, model, variant_extraction, store_dir in variants:
        t_extract = time.perf_counter()
        # under torchrun / accelerate launch every rank extracts its slice; only rank 0 probes
        store, variant_points = extract_distributed(model, dataset, variant_extraction, store_dir,
                                                    overwrite=config.overwrite, progress=config.progress)
        if not is_main_process():
            continue
        t_sweep = time.perf_counter()
        # read lazily: the engine loads a chunk of hook points at a time (memory-mapped shards)
        features = store.features([p.name for p in variant_points])
        layers = {p.name: p.layer for p in variant_points}
        results = layer_sweep(features, layers, dataset, store.example_index(), n_splits=config.probe.n_splits,
                              seed=config.probe.seed, progress=config.progress, **probe_options(config.probe))
        extract_s, probe_s = extract_s + t_sweep - t_extract, probe_s + time.perf_counter() - t_sweep
        rows += [dict(r.to_dict(), variant=variant) for r in results]
        points = points or variant_points
        if input_facts is None:
            input_facts = model.adapter.facts(variant_extraction, store.manifest)
    return rows, points, input_facts or {}, extract_s, probe_s


def _run_facts(config, dataset, loaded, extraction, variants, rows, points, input_facts, chance) -> dict:
    """The report's facts about the run (model, data, hook points, variants, probes)."""
    return {
        "model": f"{loaded.name} ({loaded.info.get('architecture', loaded.kind)}, source {loaded.source})",
        "weights hash": loaded.weights_hash,
        "data set": f"{dataset.name}: {len(dataset)} rows, task {dataset.task}, "
                    f"{len(np.unique(dataset.groups))} groups (source {dataset.metadata.get('source')})",
        **data_facts(dataset),
        "hook points": f"{len(points)} ({points[0].name} … {points[-1].name})",
        "variants": ", ".join(v[0] for v in variants),
        **input_facts,
        "chance (majority class)": f"{chance:.3f}" if chance is not None else "n/a (R²: 0 = predicting the mean)",
        "probes": probe_fact(rows, config.probe),
    }


def probe_options(probe_config) -> dict:
    """``layer_sweep`` options from the probe config: ``n_controls``, ``seeds``, ``device``, ``dtype``.

    Parameters
    ----------
    probe_config : ProbeConfig
        The probe settings.

    Returns
    -------
    dict
    """
    return {k: getattr(probe_config, k) for k in ("n_controls", "seeds", "device", "dtype")}


def probe_fact(rows: list[dict], probe_config) -> str:
    """Report line: how the probes were fitted and how many control draws and seeds.

    Parameters
    ----------
    rows : list of dict
        Results rows (the first one's ``n_folds``, ``n_seeds``, ``n_controls``).
    probe_config : ProbeConfig
        The probe settings (``device``, ``dtype``).

    Returns
    -------
    str

    Raises
    ------
    ProbekitError
        A device that cannot be used (:func:`probekit.devices.resolve_device`).
    """
    from probekit.devices import resolve_device

    options = probe_options(probe_config)
    first = rows[0] if rows else {}
    return (f"batched engine ({resolve_device(options.get('device'))}, {options.get('dtype', 'float32')}); "
            f"{first.get('n_folds')} group-split folds × {first.get('n_seeds', 1)} seed(s); control over "
            f"{first.get('n_controls')} draws")


def data_facts(dataset) -> dict[str, str]:
    """Report lines about the data's hygiene: duplicates grouped, labels normalised, files skipped.

    Parameters
    ----------
    dataset : ConceptDataset
        The data set (its ``metadata``).

    Returns
    -------
    dict of str to str
        Label -> text; only the facts the metadata holds.
    """
    facts = {}
    dup = dataset.metadata.get("duplicates")
    if dup is not None:
        facts["duplicates"] = (
            "none (no two rows have the same text)" if not dup["duplicate_rows"] else
            f"{dup['duplicate_rows']} row(s) repeat an earlier row's text ({dup['duplicate_texts']} distinct "
            f"text(s) occur more than once); identical texts share one group, so they never straddle "
            f"train/test ({dup['groups_merged']} group(s) merged)")
    mapping = dataset.metadata.get("label_mapping")
    if mapping:
        facts["labels normalised"] = "; ".join(f"{' | '.join(map(repr, v))} -> {k!r}" for k, v in mapping.items())
    if dataset.metadata.get("n_skipped"):
        facts["skipped files"] = f"{dataset.metadata['n_skipped']} unreadable file(s) in the folder were skipped"
    return facts


def write_all_or_nothing(out: Path, writers: dict) -> None:
    """Write files into ``out`` under temporary names, then rename them all into place.

    Parameters
    ----------
    out:
        Existing folder.
    writers:
        ``{file name: function(path)}``; each function writes its file at ``path``.
        Renamed in the dict's order once every one has succeeded.

    If any writer fails, the temporary files are removed and the files already in
    ``out`` are left as they were; the error propagates.
    """
    temporary = {name: out / f".{name}.tmp-{os.getpid()}{Path(name).suffix}" for name in writers}
    try:
        for name, write in writers.items():
            write(temporary[name])
        for name, path in temporary.items():
            os.replace(path, out / name)
    finally:
        for path in temporary.values():
            path.unlink(missing_ok=True)
