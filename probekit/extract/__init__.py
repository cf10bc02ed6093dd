"""Hook-based extraction: recorder, hook points, token selection, batch runner."""

from probekit.extract.hook_points import (
    BlockList,
    HookPoint,
    block_lists,
    hook_points,
    residual_stream,
    resolve_hook_points,
)
from probekit.extract.recorder import ActivationRecorder, StopForward, resolve_modules
from probekit.extract.runner import ExtractionConfig, extract
from probekit.extract.text_inputs import default_token_selection, encode_text
from probekit.extract.token_selection import TokenSelection, select_tokens

__all__ = ["ActivationRecorder", "StopForward", "resolve_modules", "HookPoint", "BlockList", "block_lists",
           "hook_points", "residual_stream", "resolve_hook_points", "TokenSelection", "select_tokens",
           "ExtractionConfig", "extract", "encode_text", "default_token_selection"]
