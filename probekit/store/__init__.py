"""Activation stores: sharded safetensors + JSON manifest, resumable, checksummed, locked."""

from probekit.store.datasets import EXAMPLES_NAME, read_examples, to_dataset, write_examples
from probekit.store.lock import StoreLock
from probekit.store.manifest import (
    STORE_DTYPES,
    identity_hash,
    is_store_file,
    new_manifest,
    read_manifest,
    shard_name,
    utc_now,
    write_manifest,
)
from probekit.store.merge import merge_stores
from probekit.store.parts import PartWriter, parse_shard, slice_bounds
from probekit.store.reader import ActivationStore, StoredRows
from probekit.store.verify import StoreReport, verify_store
from probekit.store.writer import DEFAULT_SHARD_BYTES, StoreWriter

__all__ = ["ActivationStore", "StoredRows", "DEFAULT_SHARD_BYTES", "PartWriter", "STORE_DTYPES", "StoreLock", "StoreReport",
           "StoreWriter", "identity_hash", "is_store_file", "merge_stores", "parse_shard", "read_manifest",
           "shard_name", "slice_bounds", "verify_store", "write_manifest", "new_manifest", "utc_now",
           "EXAMPLES_NAME", "read_examples", "to_dataset", "write_examples"]
