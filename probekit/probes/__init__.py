"""Linear probes, control baselines and layer sweeps."""

from probekit.probes.control import control_task_labels, shuffled_labels
from probekit.probes.linear import LogisticProbe, RidgeProbe, probe_for_task
from probekit.probes.sweep import ProbeResult, cross_validated_score, layer_sweep, outer_splits

__all__ = ["LogisticProbe", "RidgeProbe", "probe_for_task", "ProbeResult", "cross_validated_score",
           "layer_sweep", "outer_splits", "control_task_labels", "shuffled_labels"]
