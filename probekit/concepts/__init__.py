"""Concept data sets: inputs plus labels (text, images, computed factors)."""

from probekit.concepts.dataset import TASKS, ConceptDataset, group_identical_inputs
from probekit.concepts.imagenet import (
    default_imagenet_sample_dir,
    imagenet_class_names,
    imagenet_wnids,
    is_animal_class,
    parse_imagenet_name,
    wnids_in_directory,
)
from probekit.concepts.images import (
    ImageFolderScan,
    concept_from_scan,
    image_folder,
    image_folder_concepts,
    pixel_statistics,
    scan_image_folder,
)
from probekit.concepts.shared import SHARED_DATA_VARIABLE, default_shared_data_dir, shared_data_path
from probekit.concepts.loaders import BUILTIN_DATASETS, BuiltinDataset, builtin_resource, load_concept_dataset

__all__ = [
    "BUILTIN_DATASETS",
    "SHARED_DATA_VARIABLE",
    "TASKS",
    "BuiltinDataset",
    "ConceptDataset",
    "ImageFolderScan",
    "builtin_resource",
    "concept_from_scan",
    "default_imagenet_sample_dir",
    "default_shared_data_dir",
    "group_identical_inputs",
    "image_folder",
    "image_folder_concepts",
    "imagenet_class_names",
    "imagenet_wnids",
    "is_animal_class",
    "load_concept_dataset",
    "parse_imagenet_name",
    "shared_data_path",
    "pixel_statistics",
    "scan_image_folder",
    "wnids_in_directory",
]
