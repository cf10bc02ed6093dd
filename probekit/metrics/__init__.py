"""Measuring instruments: identifiability, MCC, DCI, similarity, probe rigour,
Walsh–Hadamard analysis, latent recovery and delay-embedding metrics.

Every function takes numpy arrays (or torch tensors) and documents its shapes,
exact definition and source paper.
"""

from probekit.metrics.dci import dci, dci_from_importance
from probekit.metrics.delay_embedding import (
    decoding_r2,
    delay_vectors,
    false_nearest_neighbours,
    first_minimum_mi,
    mase,
    mutual_information,
    rollout_error,
    takens_embedding,
)
from probekit.metrics.identifiability import affine_r2, linear_identifiability, orthogonal_identifiability
from probekit.metrics.mcc import correlation_matrix, mcc_report, mean_correlation_coefficient
from probekit.metrics.neighbours import NeighbourOverlap, neighbour_overlap
from probekit.metrics.probe_rigor import mdl_online_code, permutation_test, selectivity
from probekit.metrics.recovery import recovery_report, recovery_score, recovery_summary
from probekit.metrics.similarity import cca_similarity, linear_cka, svcca
from probekit.metrics.walsh import fourier_degree, inverse_walsh_hadamard, walsh_hadamard, walsh_summary, weight_spectrum

__all__ = [
    "affine_r2", "linear_identifiability", "orthogonal_identifiability",
    "mean_correlation_coefficient", "mcc_report", "correlation_matrix",
    "dci", "dci_from_importance",
    "linear_cka", "cca_similarity", "svcca", "neighbour_overlap", "NeighbourOverlap",
    "mdl_online_code", "permutation_test", "selectivity",
    "walsh_hadamard", "inverse_walsh_hadamard", "fourier_degree", "weight_spectrum", "walsh_summary",
    "recovery_score", "recovery_report", "recovery_summary",
    "delay_vectors", "mutual_information", "first_minimum_mi", "false_nearest_neighbours",
    "takens_embedding", "decoding_r2", "mase", "rollout_error",
]
