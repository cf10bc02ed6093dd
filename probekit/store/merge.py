"""Merge partial stores (``--shard i/N`` jobs, or the ranks of a torchrun job) into one store.

The parts' shard files are hard-linked (or, across file systems, copied) into the
output folder under consecutive shard names and one manifest lists them: no tensor is
read back or rewritten, so the merged store holds exactly the parts' rows, and its
identity (hence its identity hash) is the one a single process would have given it.
Hard-linked parts and the merged store share their shards' bytes, which is safe because
a store never rewrites a shard in place (it writes a new file and renames it).
"""

from __future__ import annotations

import json

import os
import shutil
from pathlib import Path

from probekit.errors import ProbekitError
from probekit.files import make_writable_dir
from probekit.store.lock import StoreLock
from probekit.store.manifest import (FORMAT_VERSION, identity_hash, is_store_file, new_manifest, read_manifest,
                                     shard_name, utc_now, write_manifest)
from probekit.store.parts import SLICE_KEY
from probekit.store.shardfile import shard_problem

__all__ = ["merge_stores"]

# identity keys whose mismatch gets its own explanation
_WHAT = {"weights_hash": "other model weights", "model": "another model",
         "data_fingerprint": "other data (inputs, labels or task differ)",
         "n_examples": "a data set of another size"}


def merge_stores(out, parts, overwrite: bool = False, verify: bool = True, remove_parts: bool = False):
    """Join partial stores whose slices tile ``0..n`` into one complete store in ``out``.

    Parameters
    ----------
    out:
        Output folder: empty, new, or holding a store of the same identity (which is
        replaced); another store there needs ``overwrite``.
    parts:
        Folders of complete partial stores (any order), e.g. from
        ``probekit extract --shard i/N``. A complete whole store counts as the part ``0..n``.
    overwrite:
        Replace a store of another identity (or an unreadable manifest) in ``out``.
    verify:
        Check every part shard's size, checksum and header before merging (one read of
        the parts); ``False``: sizes only.
    remove_parts:
        Delete the part folders once the merged store is complete.

    Returns
    -------
    ActivationStore
        The merged store: same rows, order, tensors, positions and example index as a
        single-process extraction with the same configuration.

    Raises
    ------
    ProbekitError
        No parts; a part missing, incomplete or damaged; parts from other weights, data
        or configuration; slices that overlap, leave a gap or do not reach both ends;
        ``out`` is one of the parts or holds another store.
    """
    from probekit.store.reader import ActivationStore

    out = Path(out)
    loaded = _read_parts(out, parts)
    identity, ordered = _check_parts(loaded)
    make_writable_dir(out)
    lock = StoreLock(out)
    try:
        _claim_output(out, identity, overwrite)
        shards, modules = [], {}
        for path, manifest in ordered:
            modules = modules or manifest["modules"]
            for entry in manifest["shards"]:
                problem = shard_problem(path, entry, full=verify)
                if problem:
                    raise ProbekitError(f"part {str(path)!r} is damaged: {entry['file']} {problem}; re-run its "
                                        "extraction (the same command) to recompute it")
                name = shard_name(len(shards))
                _link_or_copy(path / entry["file"], out / name)
                shards.append(dict(entry, file=name))
        _carry_examples(out, [path for path, _ in ordered])
        first = ordered[0][1]
        write_manifest(out, {
            "format_version": FORMAT_VERSION, "identity": identity, "identity_hash": identity_hash(identity),
            "complete": True, "shards": shards, "modules": modules, "n_rows": sum(s["rows"] for s in shards),
            "n_examples": identity["n_examples"], "created": min(m.get("created", "") for _, m in ordered),
            "finished": utc_now(),
            "info": dict(first.get("info", {}), merged_from=[[str(p), *m["identity"].get(
                SLICE_KEY, [0, identity["n_examples"]])] for p, m in ordered]),
        })
    finally:
        lock.release()
    if remove_parts:
        for path, _ in ordered:
            shutil.rmtree(path, ignore_errors=True)
    return ActivationStore(out)


def _read_parts(out: Path, parts) -> list[tuple[Path, dict]]:
    """Each part's folder and manifest, checked complete."""
    paths = [Path(p) for p in parts]
    if not paths:
        raise ProbekitError("no parts to merge; name the folders written by `probekit extract --shard i/N`")
    loaded = []
    for path in paths:
        if path.resolve() == out.resolve():
            raise ProbekitError(f"the output folder {str(out)!r} is also a part; merge into another folder")
        manifest = read_manifest(path)
        if manifest is None:
            raise ProbekitError(f"part {str(path)!r} holds no activation store (no manifest.json)")
        if not manifest["complete"]:
            start, end = manifest["identity"].get(SLICE_KEY, [0, manifest["identity"].get("n_examples")])
            raise ProbekitError(f"part {str(path)!r} is incomplete ({manifest['n_examples']} of examples "
                                f"{start}..{end} written); re-run its extraction to finish it")
        loaded.append((path, manifest))
    return loaded


def _check_parts(loaded: list[tuple[Path, dict]]) -> tuple[dict, list[tuple[Path, dict]]]:
    """The merged identity (a part's, without its slice) and the parts in slice order.

    Raises
    ------
    ProbekitError
        Identities differ, or the slices do not tile ``0..n`` exactly once.
    """
    def whole(manifest):
        identity = dict(manifest["identity"])
        return identity, tuple(identity.pop(SLICE_KEY, (0, identity.get("n_examples"))))

    ref_path, ref = loaded[0]
    ref_identity, _ = whole(ref)
    for path, manifest in loaded[1:]:
        identity, _ = whole(manifest)
        for key in sorted(set(ref_identity) | set(identity)):
            if ref_identity.get(key) != identity.get(key):
                what = _WHAT.get(key, f"another configuration ({key}: {ref_identity.get(key)!r} vs "
                                      f"{identity.get(key)!r})")
                raise ProbekitError(f"parts {str(ref_path)!r} and {str(path)!r} do not belong to one store: they "
                                    f"were extracted from {what}; merge only parts of one `probekit extract` "
                                    "command run with --shard 0/N .. N-1/N")
    n = ref_identity["n_examples"]
    ordered = sorted(loaded, key=lambda pm: tuple(whole(pm[1])[1]))
    end, previous = 0, None  # empty parts (more parts than batches) tile anywhere
    for path, manifest in ordered:
        start, stop = whole(manifest)[1]
        if start != end:
            problem = (f"examples {end}..{start} are in no part" if start > end else
                       f"examples {start}..{min(stop, end)} are in both {str(previous)!r} and {str(path)!r}")
            raise ProbekitError(f"the parts do not tile the data set's {n} examples: {problem}; give every "
                                "part of 0/N .. N-1/N exactly once")
        end, previous = stop, path
    if end != n:
        raise ProbekitError(f"the parts do not tile the data set's {n} examples: examples {end}..{n} are in no "
                            "part; give every part of 0/N .. N-1/N exactly once")
    shapes = {_modules_key(m["modules"]) for _, m in ordered if m["modules"]}
    if len(shapes) > 1:
        raise ProbekitError(f"the parts record different modules or row shapes: {sorted(shapes)}")
    return ref_identity, ordered


def _modules_key(modules: dict) -> str:
    """A hashable, comparable form of a manifest's ``modules``."""
    return json.dumps(modules, sort_keys=True)


def _claim_output(out: Path, identity: dict, overwrite: bool) -> None:
    """Make ``out`` an empty, incomplete store of ``identity`` (so a crash mid-merge never
    leaves a store that looks complete), removing only files a store writes."""
    try:
        existing = read_manifest(out)
    except ProbekitError:
        if not overwrite:
            raise
        existing = None
    if existing is not None and existing["identity_hash"] != identity_hash(identity) and not overwrite:
        raise ProbekitError(f"{str(out)!r} already holds an activation store made with another configuration; "
                            "choose another output folder or pass overwrite (--overwrite)")
    write_manifest(out, new_manifest(identity, {}))
    for f in out.iterdir():
        if is_store_file(f.name) and f.is_file():
            f.unlink()


def _carry_examples(out: Path, parts: list[Path]) -> None:
    """The parts' ``examples.parquet`` (each holds every example of the data set) into
    ``out``; none left there when no part has one (parts of an older probekit)."""
    from probekit.store.datasets import EXAMPLES_NAME

    source = next((p / EXAMPLES_NAME for p in parts if (p / EXAMPLES_NAME).is_file()), None)
    if source is None:
        (out / EXAMPLES_NAME).unlink(missing_ok=True)
    else:
        _link_or_copy(source, out / EXAMPLES_NAME)


def _link_or_copy(src: Path, dst: Path) -> None:
    """Put ``src``'s bytes at ``dst`` atomically: a hard link, or a copy across file systems."""
    tmp = dst.with_name(dst.name + ".tmp")
    tmp.unlink(missing_ok=True)
    try:
        os.link(src, tmp)
    except OSError:
        shutil.copyfile(src, tmp)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
    os.replace(tmp, dst)
