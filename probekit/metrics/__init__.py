"""Measuring instruments: identifiability, MCC, DCI, similarity, probe rigour,
Walsh–Hadamard analysis, latent recovery and delay-embedding metrics.

Every function takes numpy arrays (or torch tensors) and documents its shapes,
exact definition and source paper. (The input checks of ``probekit.metrics._validation``
are internal and not re-exported.)
"""

from probekit.metrics.dci import (DCIResult, DisentanglementCompleteness, dci, dci_from_importance,
                                  importance_matrix)
from probekit.metrics.delay_embedding import (
    LINEAR_ALPHAS,
    DecodingResult,
    RolloutError,
    TakensEmbedding,
    choose_embedding_dimension,
    decoding_r2,
    delay_vectors,
    false_nearest_neighbours,
    first_minimum_mi,
    flatten_trajectories,
    mase,
    mutual_information,
    rollout,
    rollout_error,
    takens_embedding,
)
from probekit.metrics.identifiability import (
    LinearIdentifiabilityResult,
    OrthogonalResult,
    R2Result,
    affine_r2,
    linear_identifiability,
    no_intercept_probe,
    orthogonal_identifiability,
    r2_per_dimension,
    split_indices,
)
from probekit.metrics.mcc import (MCCReport, correlation_matrix, mcc_report, mean_correlation_coefficient,
                                  rank_columns)
from probekit.metrics.neighbours import NeighbourOverlap, knn_indices, neighbour_overlap
from probekit.metrics.probe_rigor import (
    DEFAULT_MDL_FRACTIONS,
    MDLResult,
    PermutationTestResult,
    SelectivityResult,
    mdl_online_code,
    permutation_test,
    selectivity,
)
from probekit.metrics.recovery import (
    RECOVERY_METHODS,
    RecoveryReport,
    abs_correlation_matrix,
    recovery_report,
    recovery_score,
    recovery_summary,
    threshold_accuracy_matrix,
)
from probekit.metrics.similarity import CCAResult, canonical_correlations, cca_similarity, linear_cka, svcca
from probekit.metrics.walsh import (
    WalshSummary,
    fourier_degree,
    inverse_walsh_hadamard,
    n_bits_of,
    subset_sizes,
    walsh_hadamard,
    walsh_matrix,
    walsh_summary,
    weight_spectrum,
)
from probekit.metrics.recovery import (concept_recovery_markdown, concept_recovery_scores,
                                       read_concept_recovery_runs, summarise_concept_recovery)

__all__ = [
    # identifiability
    "affine_r2", "linear_identifiability", "no_intercept_probe", "orthogonal_identifiability", "r2_per_dimension", "split_indices",
    "LinearIdentifiabilityResult", "OrthogonalResult", "R2Result",
    # mcc
    "mean_correlation_coefficient", "mcc_report", "correlation_matrix", "rank_columns", "MCCReport",
    # dci
    "dci", "dci_from_importance", "importance_matrix", "DCIResult", "DisentanglementCompleteness",
    # similarity and neighbours
    "linear_cka", "cca_similarity", "svcca", "canonical_correlations", "CCAResult",
    "neighbour_overlap", "knn_indices", "NeighbourOverlap",
    # probe rigour
    "mdl_online_code", "permutation_test", "selectivity", "DEFAULT_MDL_FRACTIONS", "MDLResult",
    "PermutationTestResult", "SelectivityResult",
    # walsh
    "walsh_hadamard", "inverse_walsh_hadamard", "fourier_degree", "weight_spectrum", "walsh_summary",
    "walsh_matrix", "n_bits_of", "subset_sizes", "WalshSummary",
    # recovery
    "recovery_score", "recovery_report", "recovery_summary", "abs_correlation_matrix",
    "threshold_accuracy_matrix", "RECOVERY_METHODS", "RecoveryReport",
    # delay embedding
    "delay_vectors", "mutual_information", "first_minimum_mi", "false_nearest_neighbours",
    "takens_embedding", "decoding_r2", "mase", "rollout_error", "rollout", "choose_embedding_dimension",
    "flatten_trajectories", "DecodingResult", "RolloutError", "TakensEmbedding",
]

__all__ += ["concept_recovery_scores", "LINEAR_ALPHAS", "summarise_concept_recovery", "read_concept_recovery_runs",
            "concept_recovery_markdown"]

from probekit.metrics.identifiability import (  # noqa: E402
    RIDGE_ALPHAS,
    factor_probe_scores,
    ridge_cv_probe,
    singular_value_mae,
)

__all__ += ["RIDGE_ALPHAS", "factor_probe_scores", "ridge_cv_probe", "singular_value_mae"]
