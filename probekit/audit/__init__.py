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

_LAZY = {
    "AuditConfig": "probekit.audit.config", "AuditDataset": "probekit.audit.config",
    "AuditModel": "probekit.audit.config", "load_audit_config": "probekit.audit.config",
    "parse_audit_config": "probekit.audit.config", "run_audit": "probekit.audit.runner",
    "AuditResult": "probekit.audit.runner", "transfer_matrix": "probekit.audit.transfer",
    "compare_runs": "probekit.audit.compare", "read_run": "probekit.audit.compare",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'probekit.audit' has no attribute {name!r}")
