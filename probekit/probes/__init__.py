"""Linear probes, control baselines, layer sweeps, the batched engine and sweep statistics."""

from probekit.probes.control import control_task_labels, shuffled_labels
from probekit.probes.fit import EngineSettings, fit_linear, out_of_fold
from probekit.probes.engine import logistic_cv, resolve_dtype, ridge_cv
from probekit.probes.lbfgs import sweep_lbfgs
from probekit.probes.linear import LogisticProbe, RidgeProbe, probe_for_task
from probekit.probes.splits import has_shared_groups, inner_splits, splits_by_groups
from probekit.probes.stats import auroc, bootstrap_ci, mean_fold_auroc, permutation_p_value
from probekit.probes.streamed import streamed_ridge_out_of_fold
from probekit.probes.sweep import ProbeResult, cross_validated_score, layer_sweep, outer_splits

__all__ = ["LogisticProbe", "RidgeProbe", "probe_for_task", "ProbeResult", "cross_validated_score",
           "layer_sweep", "outer_splits", "control_task_labels", "shuffled_labels", "EngineSettings", "fit_linear",
           "out_of_fold", "bootstrap_ci", "mean_fold_auroc", "permutation_p_value", "logistic_cv", "ridge_cv",
           "resolve_dtype", "inner_splits", "has_shared_groups", "auroc", "streamed_ridge_out_of_fold",
           "splits_by_groups", "sweep_lbfgs"]
