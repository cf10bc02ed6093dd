"""Linear probes, control baselines, layer sweeps, the batched engine and sweep statistics."""

from probekit.probes.control import control_task_labels, shuffled_labels
from probekit.probes.fit import EngineSettings, fit_linear, out_of_fold
from probekit.probes.linear import LogisticProbe, RidgeProbe, probe_for_task
from probekit.probes.stats import bootstrap_ci, mean_fold_auroc, permutation_p_value
from probekit.probes.sweep import ProbeResult, cross_validated_score, layer_sweep

__all__ = ["LogisticProbe", "RidgeProbe", "probe_for_task", "ProbeResult", "cross_validated_score",
           "layer_sweep", "control_task_labels", "shuffled_labels", "EngineSettings", "fit_linear", "out_of_fold",
           "bootstrap_ci", "mean_fold_auroc", "permutation_p_value"]
