"""Functions run in processes spawned by the distributed tests (importable by name)."""

from pathlib import Path


def together_worker(rank: int, world: int, init_file: str, results: str) -> None:
    """Join a gloo group of ``world``; rank 1 fails one step; each rank writes what it saw."""
    import torch.distributed as dist

    from probekit.errors import ProbekitError
    from probekit.extract.distributed import _together

    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world)
    try:
        seen = [str(_together(lambda: rank * 10 + 7))]  # rank 0's value, on every rank

        def step():
            if rank == 1:
                raise ProbekitError("bad module 'x'")
            return "fine"

        try:
            _together(step)
            seen.append("no error")
        except ProbekitError as e:
            seen.append(str(e))
        seen.append(str(_together(lambda: "still in step")))  # nobody hung or left the group
        Path(results, f"{rank}.txt").write_text("\n".join(seen))
    finally:
        dist.destroy_process_group()
