"""Hook-based extraction: recorder, hook points, token selection, batch runner."""

from probekit.extract.hook_points import HookPoint, hook_points, residual_stream, resolve_hook_points
from probekit.extract.recorder import ActivationRecorder, StopForward, record, resolve_modules
from probekit.extract.runner import ExtractionConfig, extract
from probekit.extract.token_selection import TokenSelection, select_tokens

__all__ = ["ActivationRecorder", "StopForward", "record", "resolve_modules", "HookPoint", "hook_points",
           "residual_stream", "resolve_hook_points", "TokenSelection", "select_tokens",
           "ExtractionConfig", "extract"]
