"""Activation stores: sharded safetensors + JSON manifest, resumable."""

from probekit.store.reader import ActivationStore
from probekit.store.writer import StoreWriter

__all__ = ["ActivationStore", "StoreWriter"]
