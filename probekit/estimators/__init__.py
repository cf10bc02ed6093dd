"""probekit.estimators: scikit-learn estimators and concept directions on feature matrices.

Concept directions (:func:`mean_difference_direction`, :func:`logistic_direction`),
linear concept erasure (:class:`LeaceEraser`, :func:`erasure_check`), the contrastive
concept estimator of Rajendran et al. (2024) (:class:`ContrastiveConceptEstimator`) and
the low-degree recovery search over Boolean maps (:class:`LowDegreeSearch`).
"""

from probekit.estimators.contrastive_concepts import ConceptEncoderMLP, ContrastiveConceptEstimator
from probekit.estimators.directions import (
    ErasureCheckResult,
    LeaceEraser,
    cosine_similarity_matrix,
    erasure_check,
    logistic_direction,
    mean_difference_direction,
)
from probekit.estimators.low_degree import (
    CRITERIA,
    SPACES,
    LowDegreeRecovery,
    LowDegreeSearch,
    general_linear_tables,
    representation_cost,
    total_degree,
)

__all__ = [
    "CRITERIA",
    "SPACES",
    "ConceptEncoderMLP",
    "ContrastiveConceptEstimator",
    "ErasureCheckResult",
    "LeaceEraser",
    "LowDegreeRecovery",
    "LowDegreeSearch",
    "cosine_similarity_matrix",
    "erasure_check",
    "general_linear_tables",
    "logistic_direction",
    "mean_difference_direction",
    "representation_cost",
    "total_degree",
]
