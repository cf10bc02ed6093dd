"""Concept data sets: inputs plus labels (text, images, computed factors)."""

from probekit.concepts.dataset import TASKS, ConceptDataset
from probekit.concepts.loaders import BUILTIN_DATASETS, load_concept_dataset

__all__ = ["ConceptDataset", "TASKS", "BUILTIN_DATASETS", "load_concept_dataset"]
