"""Run an audit: every model × variant × data set extracted once and probed at every hook point.

Layout of the output folder ``DIR``::

    DIR/stores/<model>/<variant>/<dataset>/     activation stores (resumable)
    DIR/finished/<model>/<variant>/<dataset>.json   probe results of one finished combination
    DIR/results.csv, transfer.csv, audit.json, *.png, report.html

A combination whose results file matches the configuration and whose store is the one
it was computed from is not redone; an unfinished store resumes (see
:func:`probekit.extract.extract`). Result files are written under temporary names and
renamed into place, so an interrupted audit never leaves a file that looks finished.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from probekit.audit.config import AuditConfig, AuditDataset, AuditModel
from probekit.config import slug
from probekit.errors import ProbekitError

__all__ = ["AuditResult", "LoadedData", "load_audit_data", "probe_combination", "run_audit"]


@dataclass
class LoadedData:
    """A data set of the audit, loaded: its config, the :class:`ConceptDataset`, its display name."""

    config: AuditDataset
    dataset: object
    name: str

    @property
    def chance(self) -> float | None:
        """Majority-class accuracy (classification), ``None`` for continuous targets."""
        if self.dataset.task == "continuous":
            return None
        return float(np.bincount(self.dataset.labels).max() / len(self.dataset))

    def facts(self) -> dict:
        """The data set's facts for audit.json and the report: name, source, task, ``n_samples``,
        ``n_groups``, chance, class names and the data fingerprint."""
        ds = self.dataset
        return {"name": self.name, "source": str(ds.metadata.get("source", self.config.name)), "task": ds.task,
                "n_samples": len(ds), "n_groups": int(len(np.unique(ds.groups))), "chance": self.chance,
                "label_names": ds.label_names, "fingerprint": ds.fingerprint}


@dataclass
class AuditResult:
    """What an audit produced (also written to ``DIR``)."""

    rows: list[dict]
    transfer: list[dict]
    models: dict = field(default_factory=dict)   # display name -> variant -> model facts
    datasets: list[dict] = field(default_factory=list)
    record: dict = field(default_factory=dict)
    timings: dict = field(default_factory=dict)


def load_audit_data(config: AuditConfig, progress: bool = True) -> list[LoadedData]:
    """Load every data set of the audit (before any model), with unique display names.

    Parameters
    ----------
    config : AuditConfig
        The audit.
    progress : bool
        Show progress bars while loading.

    Returns
    -------
    list of LoadedData
        In the config's order.

    Raises
    ------
    ProbekitError
        Any data set error of :func:`probekit.concepts.load_concept_dataset`, or two data
        sets with the same name (give one a ``label``).
    """
    from probekit.concepts import load_concept_dataset

    loaded = []
    for d in config.datasets:
        dataset = load_concept_dataset(d.name, text_column=d.text_column, label_column=d.label_column,
                                       group_column=d.group_column, word_type_column=d.word_type_column,
                                       task=d.task, limit=d.limit, concept=d.concept, progress=progress)
        loaded.append(LoadedData(d, dataset, d.label or dataset.name))
    names = [slug(d.name) for d in loaded]
    for name in names:
        if names.count(name) > 1:
            raise ProbekitError(f"two data sets share the name {name!r}; give one of them a distinct label "
                                "(label = \"...\" in its [[datasets]] table)")
    return loaded


def _key(config: AuditConfig, model: AuditModel, variant: str, data: LoadedData) -> dict:
    """What a finished combination's results depend on (compared as JSON on resume)."""
    # the label only names things; the random init's settings do not change the pretrained results
    ignored = ("label",) + (("random_init", "seed") if variant == "pretrained" else ())
    model_fields = {k: v for k, v in asdict(model).items() if k not in ignored}
    return json.loads(json.dumps({
        "model": model_fields, "variant": variant, "dataset": asdict(data.config),
        "data_fingerprint": data.dataset.fingerprint, "extraction": asdict(config.model_extraction(model)),
        "probe": asdict(config.probe)}, default=str))


def _paths(out: Path, model: AuditModel, variant: str, data: LoadedData) -> tuple[Path, Path]:
    """``(store folder, finished-results file)`` of one combination."""
    parts = (slug(model.display), variant, slug(data.name))
    return out / "stores" / Path(*parts), out / "finished" / parts[0] / parts[1] / f"{parts[2]}.json"


def _store_identity_hash(store_dir: Path) -> str | None:
    """The identity hash of a finished store in ``store_dir``, else ``None``."""
    try:
        manifest = json.loads((store_dir / "manifest.json").read_text())
    except (OSError, ValueError):
        return None
    return manifest.get("identity_hash") if manifest.get("complete") else None


def _read_finished(path: Path, key: dict, store_dir: Path) -> dict | None:
    """The saved results of a combination, if they were computed with ``key`` from the store now in ``store_dir``."""
    try:
        saved = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if saved.get("key") != key or saved.get("store_identity_hash") != _store_identity_hash(store_dir):
        return None
    return saved


def _write_json_atomic(payload: dict, path: Path) -> None:
    """Write ``payload`` as JSON under a temporary name, then rename it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        tmp.write_text(json.dumps(payload, indent=1, default=str))
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _load_variant(model: AuditModel, variant: str):
    """The loaded model of ``variant`` (``pretrained`` or ``random-init``)."""
    from probekit.models import load_model

    return load_model(model.name, weights=model.weights, dtype=model.dtype, device=model.device,
                      device_map=model.device_map, trust_remote_code=model.trust_remote_code,
                      padding_side=model.padding_side, random_init=variant == "random-init",
                      **({"seed": model.seed} if variant == "random-init" else {}))


def _model_facts(loaded) -> dict:
    """Report facts of a loaded model: weights hash, source, architecture, parameters."""
    return {"weights_hash": loaded.weights_hash, "source": loaded.source, "kind": loaded.kind,
            "architecture": loaded.info.get("architecture"), "n_parameters": loaded.info.get("n_parameters")}


def probe_combination(config: AuditConfig, model: AuditModel, variant: str, data: LoadedData, loaded,
                      store_dir: Path, overwrite: bool, progress: bool) -> dict:
    """Extract (or resume) one store and probe every hook point.

    Parameters
    ----------
    config : AuditConfig
        The audit (extraction and probe settings).
    model : AuditModel
        The model's entry.
    variant : str
        ``pretrained``, ``random-init`` or ``pixel-projection``.
    data : LoadedData
        The data set.
    loaded : LoadedModel
        The loaded model (weights of ``variant``).
    store_dir : pathlib.Path
        The store folder (resumed when it holds this extraction).
    overwrite : bool
        Replace a store of another identity.
    progress : bool
        Show progress bars.

    Returns
    -------
    dict
        The finished-results payload: ``rows`` (one results row per hook point, with
        ``model``, ``variant``, ``dataset``, ``task``), ``model`` (facts of the loaded
        model) and ``text`` (how texts were read).

    Raises
    ------
    ProbekitError
        Inputs the model cannot take (:func:`probekit.pipeline.check_inputs`), a store
        of another identity without ``overwrite``, or a probe error.
    """
    from probekit.extract.runner import extract
    from probekit.pipeline import check_inputs, probe_options
    from probekit.probes.sweep import layer_sweep

    extraction = check_inputs(loaded, data.dataset, config.model_extraction(model))
    store, points = extract(loaded, data.dataset, extraction, store_dir, overwrite=overwrite, progress=progress)
    features = {p.name: store.numpy(p.name) for p in points}
    results = layer_sweep(features, {p.name: p.layer for p in points}, data.dataset, store.example_index(),
                          n_splits=config.probe.n_splits, seed=config.probe.seed, progress=progress,
                          **probe_options(config.probe))
    rows = [{"model": model.display, "variant": variant, "dataset": data.name, "task": data.dataset.task,
             **r.to_dict(), "weights_hash": loaded.weights_hash} for r in results]
    info = store.manifest.get("info", {})
    return {"rows": rows, "model": _model_facts(loaded),
            "text": {"token_selection": info.get("token_selection"), "n_truncated": info.get("n_truncated"),
                     "max_length": extraction.max_length}}


def _variant_results(config, model, variant, datasets, out, overwrite, progress) -> tuple[list, dict, dict]:
    """Rows of one model variant over every data set, reusing finished combinations; and its stores."""
    loaded, rows, facts, stores = None, [], {}, {}
    for data in datasets:
        store_dir, finished = _paths(out, model, variant, data)
        key = _key(config, model, variant, data)
        saved = _read_finished(finished, key, store_dir)
        if saved is None:
            if loaded is None:
                loaded = _load_variant(model, variant)
            saved = probe_combination(config, model, variant, data, loaded, store_dir, overwrite, progress)
            _write_json_atomic({**saved, "key": key, "store_identity_hash": _store_identity_hash(store_dir)},
                              finished)
        rows += saved["rows"]
        facts = facts or {**saved["model"], **{f"text {k}": v for k, v in saved.get("text", {}).items()}}
        stores[data.name] = store_dir
    return rows, facts, stores


def _check_modalities(config: AuditConfig, datasets: list[LoadedData]) -> None:
    """Every data set must suit every model's input (text / image) before anything is loaded."""
    from probekit.models import expected_modality
    from probekit.pipeline import check_modality

    for model in config.models:
        for data in datasets:
            check_modality(data.dataset, expected_modality(model.name), model.name)


def run_audit(config: AuditConfig, out, overwrite: bool = False, progress: bool = True,
              argv: list[str] | None = None) -> AuditResult:
    """Run a whole audit and write its outputs into ``out`` (see the module docstring).

    Parameters
    ----------
    config:
        The audit (see :func:`probekit.audit.load_audit_config`).
    out:
        Output folder; created if needed. Running again into the same folder reuses
        finished stores and results.
    overwrite:
        Replace stores of another configuration found in ``out`` (else that is an error).
    progress:
        Progress bars.
    argv:
        The command line, for the run record.

    Returns
    -------
    AuditResult

    Raises
    ------
    ProbekitError
        Bad data sets, models, modules or output folder (data sets and modalities are
        checked before any model loads).
    """
    from probekit.audit.outputs import write_outputs
    from probekit.runs import now_utc as now
    from probekit.audit.transfer import transfer_matrix
    from probekit.files import make_writable_dir

    started, t0 = now(), time.perf_counter()
    out = Path(out)
    make_writable_dir(out)
    datasets = load_audit_data(config, progress)
    _check_modalities(config, datasets)
    rows, transfer, models = [], [], {}
    for model in config.models:
        for variant in model.variants():
            variant_rows, facts, stores = _variant_results(config, model, variant, datasets, out, overwrite,
                                                           progress)
            rows += variant_rows
            models.setdefault(model.display, {})[variant] = facts
            if config.transfer:
                transfer += transfer_matrix(variant_rows, datasets, stores, seed=config.probe.seed,
                                            device=config.probe.device, dtype=config.probe.dtype)
    result = AuditResult(rows=rows, transfer=transfer, models=models, datasets=[d.facts() for d in datasets],
                         timings={"extract + probe + transfer (s)": round(time.perf_counter() - t0, 1)})
    write_outputs(result, config, out, started, argv)
    return result
