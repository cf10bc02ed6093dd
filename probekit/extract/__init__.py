"""Hook-based extraction: recorder, hook points, token selection, batch runner."""

from probekit.extract.distributed import distributed_env, extract_distributed, is_main_process, rank_device
from probekit.extract.hook_points import (
    ATTENTION_NAMES,
    MLP_NAMES,
    BlockList,
    HookPoint,
    block_lists,
    cross_attention,
    find_blocks,
    hook_points,
    residual_stream,
    resolve_hook_points,
    stage_outputs,
    sublayer_notes,
    sublayers,
)
from probekit.hooks import CALL_SEPARATOR, INPUT_SUFFIX, Hooks, HookSet, split_key
from probekit.extract.inspect import describe_modules, output_shapes
from probekit.extract.pooling import pool_spatial
from probekit.extract.recorder import ActivationRecorder, StopForward, first_tensor, module_names, resolve_modules
from probekit.extract.image_inputs import ImageFiles, encode_images, grey_image_inputs, image_batches, pixel_inputs
from probekit.extract.modalities import (ADAPTERS, EXCLUSIVE_OPTIONS, ImageInputs, ModalityAdapter, RowReader,
                                         SequenceInputs, TextInputs, adapter_for, modality_hint, register_modality,
                                         sample_inputs, unregister_modality)
from probekit.extract.runner import SORT_WINDOW, ExtractionConfig, extract, parse_size, token_budget_batches
from probekit.extract.text_inputs import (
    accepts,
    decoder_inputs,
    default_token_selection,
    encode_text,
    is_encoder_decoder,
    model_device,
    position_ids_from_mask,
    SAMPLE_TEXT,
    token_counts,
    validate_token_counts,
)
from probekit.extract.token_selection import TokenSelection, select_tokens
from probekit.extract.vision_points import (
    VisionHookPoint,
    architecture_name,
    is_image_classifier,
    module_layout,
    point_layouts,
    refuse_unknown_vision,
    vision_hook_points,
)
from probekit.extract.penultimate import PENULTIMATE_MODULES, penultimate_features, penultimate_module

__all__ = [
    "ATTENTION_NAMES", "MLP_NAMES", "CALL_SEPARATOR", "INPUT_SUFFIX",
    "ActivationRecorder", "StopForward", "HookSet", "Hooks", "SAMPLE_TEXT", "sample_inputs", "split_key", "first_tensor", "module_names", "resolve_modules",
    "HookPoint", "BlockList", "block_lists", "find_blocks", "hook_points", "residual_stream",
    "resolve_hook_points", "stage_outputs", "sublayers", "sublayer_notes", "cross_attention",
    "VisionHookPoint", "vision_hook_points", "is_image_classifier", "architecture_name", "module_layout",
    "point_layouts", "refuse_unknown_vision", "pool_spatial", "describe_modules", "output_shapes",
    "TokenSelection", "select_tokens", "ExtractionConfig", "extract", "encode_images", "parse_size",
    "encode_text", "default_token_selection", "accepts", "decoder_inputs", "is_encoder_decoder", "model_device",
    "position_ids_from_mask", "token_counts", "validate_token_counts",
    "distributed_env", "extract_distributed", "is_main_process", "rank_device",
    "SORT_WINDOW", "image_batches", "token_budget_batches",
]

__all__ += ["ADAPTERS", "EXCLUSIVE_OPTIONS", "ImageInputs", "ModalityAdapter", "RowReader", "SequenceInputs",
            "TextInputs", "adapter_for", "modality_hint", "register_modality", "unregister_modality",
            "ImageFiles", "grey_image_inputs", "pixel_inputs"]
__all__ += ["PENULTIMATE_MODULES", "penultimate_features", "penultimate_module"]
