"""The main job: load a model and a concept data set, extract, probe every layer, report."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from probekit.concepts import load_concept_dataset
from probekit.config import RunConfig
from probekit.extract.runner import extract
from probekit.models import load_model
from probekit.models.pixels import pixel_projection_model
from probekit.probes.sweep import layer_sweep
from probekit.report import plot_probe_scores, write_report, write_results_csv, write_results_json
from probekit.store.writer import _make_writable_dir

RESULT_FILES = ("results.csv", "results.json", "probe_scores.png", "report.md")


def run_probe(config: RunConfig) -> list[dict]:
    """Run a whole probe job and write ``results.csv``, ``results.json``,
    ``probe_scores.png`` and ``report.md`` into the output folder.

    Activations go to ``OUT/activations`` (resumable; reused when the same
    configuration runs again). For image classifiers the same probes also run, as
    baselines, on the architecture at random initialisation
    (``OUT/activations-random-init``) and on a fixed random projection of the pixels
    (``OUT/activations-pixel-projection``); rows carry a ``variant`` column. Result files from an earlier run are removed first and
    written only once every probe has finished, so a failed run never leaves results
    that look complete.

    Returns
    -------
    list of dict
        One results row per hook point (see :class:`probekit.probes.ProbeResult`).

    Raises
    ------
    ProbekitError
        Any bad input (model, data set, modules, output folder).
    """
    out = Path(config.output_dir())
    _make_writable_dir(out)
    for name in RESULT_FILES:
        (out / name).unlink(missing_ok=True)
    t0 = time.perf_counter()
    dataset = load_concept_dataset(
        config.dataset.name, text_column=config.dataset.text_column,
        label_column=config.dataset.label_column, group_column=config.dataset.group_column,
        word_type_column=config.dataset.word_type_column, task=config.dataset.task,
        limit=config.dataset.limit, concept=config.dataset.concept, progress=config.progress,
    )
    loaded = load_model(config.model.name, weights=config.model.weights, dtype=config.model.dtype,
                        device=config.model.device, device_map=config.model.device_map,
                        trust_remote_code=config.model.trust_remote_code,
                        padding_side=config.model.padding_side)
    variants = [("pretrained", loaded, config.extraction, out / "activations")]
    if loaded.kind == "image-classifier" and config.baselines:
        random_model = load_model(config.model.name, weights=config.model.weights, random_init=True,
                                  dtype=config.model.dtype, device=config.model.device)
        variants += [
            ("random-init", random_model, config.extraction, out / "activations-random-init"),
            ("pixel-projection", pixel_projection_model(loaded), replace(config.extraction, modules=["projection"]),
             out / "activations-pixel-projection"),
        ]
    t_load = time.perf_counter()
    rows, points = [], []
    for variant, model, extraction, store_dir in variants:
        store, variant_points = extract(model, dataset, extraction, store_dir, overwrite=config.overwrite,
                                        progress=config.progress)
        features = {p.name: store.numpy(p.name) for p in variant_points}
        layers = {p.name: p.layer for p in variant_points}
        results = layer_sweep(features, layers, dataset, store.example_index(), n_splits=config.probe.n_splits,
                              seed=config.probe.seed, progress=config.progress)
        rows += [dict(r.as_dict(), variant=variant) for r in results]
        points = points or variant_points
    t_probe = time.perf_counter()
    chance = None
    if dataset.task != "continuous":
        chance = float(np.bincount(dataset.labels).max() / len(dataset))
    facts = {
        "model": f"{loaded.name} ({loaded.info.get('architecture', loaded.kind)}, source {loaded.source})",
        "weights hash": loaded.weights_hash,
        "data set": f"{dataset.name}: {len(dataset)} rows, task {dataset.task}, "
                    f"{len(np.unique(dataset.groups))} groups (source {dataset.metadata.get('source')})",
        "hook points": f"{len(points)} ({points[0].name} … {points[-1].name})",
        "variants": ", ".join(v[0] for v in variants),
        "token selection" if loaded.kind != "image-classifier" else "spatial pooling":
            config.extraction.token_selection if loaded.kind != "image-classifier" else config.extraction.pooling,
        "chance (majority class)": f"{chance:.3f}" if chance is not None else "n/a (R²: 0 = predicting the mean)",
        "time": f"load {t_load - t0:.1f} s, extract + probe {t_probe - t_load:.1f} s",
    }
    config_dict = config.to_dict()
    config_dict.update(model_name=loaded.name)
    flat = {"model": loaded.name, "dataset": dataset.name}
    write_results_csv(rows, out / "results.csv")
    plot_probe_scores(rows, out / "probe_scores.png", f"{loaded.name} — {dataset.name}", chance)
    write_report(rows, flat, out / "report.md", facts)
    write_results_json(rows, config_dict, out / "results.json",
                       {"facts": facts, "stores": {v[0]: str(v[3]) for v in variants}})
    return rows

