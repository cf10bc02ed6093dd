"""Activation stores: sharded safetensors + JSON manifest, resumable, checksummed, locked."""

from probekit.store.reader import ActivationStore
from probekit.store.verify import StoreReport, verify_store
from probekit.store.writer import DEFAULT_SHARD_BYTES, StoreWriter

__all__ = ["ActivationStore", "DEFAULT_SHARD_BYTES", "StoreReport", "StoreWriter", "verify_store"]
