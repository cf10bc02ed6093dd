"""Interpretability audits: many models × data sets × every layer in one reproducible run and one report.

``probekit audit --config audit.toml --out DIR`` (see :mod:`probekit.audit.config` for the
schema) extracts once per model × variant × data set into resumable stores, probes every
hook point, computes a transfer matrix per model, and writes ``results.csv``,
``transfer.csv``, ``audit.json``, PNGs and a self-contained ``report.html``.
``probekit compare RUN_DIR...`` overlays the layer curves of probe and audit runs.

The names below are imported on first use, so importing this package stays cheap.
"""

from __future__ import annotations

import importlib

_MODULES = {
    "config": ("AuditConfig", "AuditDataset", "AuditModel", "load_audit_config", "parse_audit_config"),
    "runner": ("AuditResult", "LoadedData", "load_audit_data", "probe_combination", "run_audit"),
    "transfer": ("compatible", "transfer_matrix", "transfer_score"),
    "outputs": ("AUDIT_COLUMNS", "TRANSFER_COLUMNS", "write_outputs"),
    "plots": ("plot_heatmaps", "plot_layer_curves", "plot_transfer", "score_grid"),
    "compare": ("compare_runs", "read_run"),
}
_LAZY = {name: f"probekit.audit.{module}" for module, names in _MODULES.items() for name in names}

__all__ = sorted(_LAZY)


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'probekit.audit' has no attribute {name!r}")
