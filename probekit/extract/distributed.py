"""Data-parallel extraction under ``torchrun`` / ``accelerate launch``.

Every rank extracts its contiguous slice of the examples (whole batches, see
:func:`probekit.store.slice_bounds`) into a partial store ``OUT/rank-{r}-of-{N}``, with
the store's usual atomic-rename discipline; after a barrier, rank 0 merges the parts
into ``OUT`` with :func:`probekit.store.merge_stores` (one manifest, written complete
once, after every rank finished) and removes them. A run killed at any moment (any
rank, even by SIGKILL) leaves ``OUT`` incomplete; the same command then resumes each
rank's part where it stopped. The result is the single-process store: same rows, same
order, same tensors, same identity.

torch.distributed carries only small Python objects here (who finished, who failed),
over gloo; on CUDA the group is ``cpu:gloo,cuda:nccl`` and each rank uses the GPU
``cuda:LOCAL_RANK``.
"""

from __future__ import annotations

import datetime
import os
from pathlib import Path

from probekit.errors import ProbekitError

__all__ = ["distributed_env", "extract_distributed", "is_main_process", "rank_device"]

# A resumed run's finished ranks wait at the barrier while the others catch up, which may
# take hours (torchrun stops every rank when one dies, so nobody waits on a dead rank).
BARRIER_TIMEOUT = datetime.timedelta(days=7)


def distributed_env() -> tuple[int, int, int] | None:
    """``(rank, world_size, local_rank)`` when a launcher (``torchrun``, ``accelerate
    launch``) started several processes (``WORLD_SIZE`` > 1), else ``None``.

    Raises
    ------
    ProbekitError
        ``WORLD_SIZE``, ``RANK`` or ``LOCAL_RANK`` is set but not a valid integer.
    """
    def number(name: str, default: str | None) -> int:
        value = os.environ.get(name, default)
        try:
            return int(value)
        except (TypeError, ValueError):
            raise ProbekitError(f"environment variable {name}={value!r} is not an integer; launch with "
                                "torchrun or accelerate launch, which set RANK, WORLD_SIZE and LOCAL_RANK") from None

    world = number("WORLD_SIZE", "1")
    if world <= 1:
        return None
    rank = number("RANK", None)
    if not 0 <= rank < world:
        raise ProbekitError(f"RANK={rank} is outside 0..WORLD_SIZE-1={world - 1}")
    return rank, world, number("LOCAL_RANK", str(rank))


def is_main_process() -> bool:
    """True outside a multi-process launch, and on rank 0 inside one."""
    env = distributed_env()
    return env is None or env[0] == 0


def rank_device(device: str | None) -> str | None:
    """This process's device under a multi-process launch.

    Parameters
    ----------
    device : str or None
        The configured device.

    Returns
    -------
    str or None
        ``cuda`` becomes ``cuda:LOCAL_RANK`` under a multi-process launch (one GPU per
        rank); any other value (``None``: CPU, ``cuda:1``, ...) is kept.
    """
    env = distributed_env()
    if env is not None and device == "cuda":
        return f"cuda:{env[2]}"
    return device


def extract_distributed(loaded, dataset, config, out_dir, overwrite: bool = False, progress: bool = True):
    """:func:`probekit.extract.extract` split across the ranks of a ``torchrun`` job.

    Call it on every rank with the same arguments. Outside a multi-process launch it is
    :func:`~probekit.extract.extract` itself.

    Parameters
    ----------
    loaded, dataset, config, out_dir, overwrite, progress:
        As for :func:`~probekit.extract.extract` (progress bars on rank 0 only).

    Returns
    -------
    (ActivationStore, list of HookPoint)
        On every rank: the finished, merged store in ``out_dir``.

    Raises
    ------
    ProbekitError
        On every rank, when any rank fails (naming the rank and its error), and for the
        reasons :func:`~probekit.extract.extract` and :func:`~probekit.store.merge_stores` give.
    """
    import torch.distributed as dist

    from probekit.extract.hook_points import resolve_hook_points
    from probekit.extract.runner import extract
    from probekit.store import ActivationStore

    env = distributed_env()
    if env is None:
        return extract(loaded, dataset, config, out_dir, overwrite=overwrite, progress=progress)
    rank, world, _ = env
    out = Path(out_dir)
    created = _init_group(loaded)
    try:
        if not _together(lambda: rank == 0 and _reuse_finished(loaded, dataset, config, out, overwrite)):
            parts = [out / f"rank-{r}-of-{world}" for r in range(world)]
            _together(lambda: extract(loaded, dataset, config, parts[rank], overwrite=overwrite,
                                      progress=progress and rank == 0, shard=(rank, world)) and None)
            _together(lambda: rank == 0 and _merge(out, parts, overwrite))
        return ActivationStore(out), resolve_hook_points(loaded.model, config.modules)
    finally:
        if created:
            dist.destroy_process_group()


def _init_group(loaded) -> bool:
    """Join the launcher's process group (gloo; ``cpu:gloo,cuda:nccl`` for a CUDA model);
    True when this call created it."""
    import torch
    import torch.distributed as dist

    from probekit.extract.text_inputs import model_device

    if dist.is_initialized():
        return False
    device = model_device(loaded.model)
    if device.type == "cuda":
        torch.cuda.set_device(device)
        dist.init_process_group("cpu:gloo,cuda:nccl", timeout=BARRIER_TIMEOUT)
    else:
        dist.init_process_group("gloo", timeout=BARRIER_TIMEOUT)
    return True


def _together(step):
    """Run ``step()`` on this rank, then wait for every rank (the barrier); return
    ``step()``'s value from rank 0.

    Raises
    ------
    ProbekitError
        On every rank when some rank's step raised: its own error on that rank (bugs keep
        their traceback there), ``rank r failed: ...`` on the others.
    """
    import torch.distributed as dist

    error = None
    try:
        value = step()
    except Exception as e:  # noqa: BLE001 - reported to every rank below, then raised
        error, value = e, None
    outcomes = [None] * dist.get_world_size()
    dist.all_gather_object(outcomes, (value, None if error is None else f"{type(error).__name__}: {error}"))
    if error is not None:
        raise error
    failed = [(r, message) for r, (_, message) in enumerate(outcomes) if message is not None]
    if failed:
        r, message = failed[0]
        raise ProbekitError(f"rank {r} of {len(outcomes)} failed: {message}")
    return outcomes[0][0]


def _merge(out: Path, parts: list[Path], overwrite: bool) -> None:
    """Rank 0: merge the ranks' parts into ``out`` and remove them, and any part left in
    ``out`` by an earlier, interrupted run of another world size for this same store."""
    import shutil

    from probekit.store import identity_hash, merge_stores, read_manifest
    from probekit.store.parts import SLICE_KEY

    merged = merge_stores(out, parts, overwrite=overwrite, verify=False, remove_parts=True)
    for stale in out.glob("rank-*-of-*"):
        try:
            identity = dict(read_manifest(stale)["identity"])
        except (ProbekitError, TypeError):  # not a store (None), or unreadable: not ours to remove
            continue
        if identity.pop(SLICE_KEY, None) is not None and identity_hash(identity) == merged.manifest["identity_hash"]:
            shutil.rmtree(stale, ignore_errors=True)


def _reuse_finished(loaded, dataset, config, out: Path, overwrite: bool) -> bool:
    """Rank 0: ``out`` already holds the finished, intact store of this configuration
    (then, as in one process, it is returned, ``overwrite`` or not).

    Raises
    ------
    ProbekitError
        ``out`` holds a finished store of another configuration, or an unreadable
        manifest (without ``overwrite``: with it, the parts replace them).
    """
    from probekit.extract.runner import extract
    from probekit.store import read_manifest, verify_store

    try:
        manifest = read_manifest(out)
        if manifest is None or not manifest["complete"] or not verify_store(out).ok:
            return False  # damaged or unfinished: the parts are (re)computed and merged again
        extract(loaded, dataset, config, out, progress=False)  # returns at once, or names the other configuration
    except ProbekitError:
        if overwrite:
            return False
        raise
    return True
