"""Damaged stores, garbage manifests, user files in the folder, and one writer at a time."""

import fcntl
import json
import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch

from probekit.cli import main as cli_main
from probekit.errors import ProbekitError
from probekit.store import ActivationStore, StoreWriter, verify_store
from probekit.store.manifest import LOCK_NAME

DATA = torch.randn(12, 3, generator=torch.Generator().manual_seed(0))


def _write(directory, start=None, n=12, **kwargs):
    writer = StoreWriter(directory, {"x": 1}, shard_examples=4, **kwargs)
    for first in range(writer.examples_done if start is None else start, n, 2):
        writer.append({"a": DATA[first:first + 2]}, torch.arange(first, first + 2), torch.full((2,), -1))
    if not writer.complete:
        writer.finish(n)
    return writer


def _damage(path, how):
    raw = path.read_bytes()
    if how == "truncate":
        path.write_bytes(raw[:-7])
    elif how == "delete":
        path.unlink()
    else:  # flip one bit in the middle of the data, same size
        flipped = bytearray(raw)
        flipped[len(raw) - 20] ^= 0x10
        path.write_bytes(bytes(flipped))


@pytest.mark.parametrize("how", ["truncate", "delete", "flip"])
def test_damaged_shard_is_named_by_verify_and_recomputed_by_the_writer(tmp_path, how, capsys):
    _write(tmp_path / "clean")
    store = tmp_path / "store"
    _write(store)
    assert verify_store(store).ok
    assert cli_main(["store", "verify", str(store)]) == 0
    _damage(store / "shard-00001.safetensors", how)

    report = verify_store(store)
    assert [f for f, _ in report.damaged] == ["shard-00001.safetensors"]
    capsys.readouterr()
    assert cli_main(["store", "verify", str(store)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and "shard-00001.safetensors" in err and "Traceback" not in err
    if how != "flip":  # sizes are checked on every open; checksums by verify and the writer
        with pytest.raises(ProbekitError, match="shard-00001.safetensors"):
            ActivationStore(store)

    with pytest.warns(UserWarning, match="shard-00001.safetensors"):
        writer = StoreWriter(store, {"x": 1}, shard_examples=4)
    assert not writer.complete and writer.examples_done == 4
    assert not (store / "shard-00002.safetensors").exists()
    with pytest.raises(ProbekitError, match="incomplete"):
        ActivationStore(store)
    writer.close()
    _write(store)
    assert verify_store(store).ok
    for name in ("shard-00000.safetensors", "shard-00001.safetensors", "shard-00002.safetensors"):
        assert (store / name).read_bytes() == (tmp_path / "clean" / name).read_bytes()


def test_reading_a_damaged_header_gives_a_probekit_error(tmp_path):
    _write(tmp_path)
    path = tmp_path / "shard-00000.safetensors"
    raw = bytearray(path.read_bytes())
    raw[8] = ord("#")  # same size, header no longer JSON
    path.write_bytes(bytes(raw))
    store = ActivationStore(tmp_path)  # sizes agree: opens
    with pytest.raises(ProbekitError, match="shard-00000.safetensors.*cannot be read"):
        store.numpy("a")
    with pytest.raises(ProbekitError, match="shard-00000.safetensors"):
        store.torch("a")


@pytest.mark.parametrize("garbage", ["{not json", "[]", '{"format_version": 1}', "\xff\xfe"])
def test_garbage_manifest_is_refused_clearly_and_replaced_with_overwrite(tmp_path, garbage):
    _write(tmp_path)
    (tmp_path / "manifest.json").write_bytes(garbage.encode("latin-1"))
    (tmp_path / "shard-notes.txt").write_text("mine")
    for action in (lambda: ActivationStore(tmp_path), lambda: verify_store(tmp_path),
                   lambda: StoreWriter(tmp_path, {"x": 1}, shard_examples=4)):
        with pytest.raises(ProbekitError, match="manifest.*overwrite"):
            action()
    assert cli_main(["store", "verify", str(tmp_path)]) == 2
    writer = StoreWriter(tmp_path, {"x": 2}, shard_examples=4, overwrite=True)
    assert writer.examples_done == 0 and not (tmp_path / "shard-00000.safetensors").exists()
    writer.close()
    _write(tmp_path, overwrite=True)
    np.testing.assert_array_equal(ActivationStore(tmp_path).numpy("a"), DATA.numpy())
    assert (tmp_path / "shard-notes.txt").read_text() == "mine"


def test_only_files_the_store_created_are_removed(tmp_path):
    _write(tmp_path)
    user = ["shard-notes.txt", "shard-00001.safetensors.bak", "shard-1.safetensors", "notes.md", "config.json"]
    for name in user:
        (tmp_path / name).write_text("user")
    (tmp_path / "shard-dir").mkdir()
    (tmp_path / "shard-00009.safetensors.tmp").write_text("left by a killed run")
    (tmp_path / "shard-00007.safetensors").write_text("not listed")
    StoreWriter(tmp_path, {"x": 1}, shard_examples=4)  # reopen: drops the store's own leftovers
    assert not (tmp_path / "shard-00009.safetensors.tmp").exists()
    assert not (tmp_path / "shard-00007.safetensors").exists()
    StoreWriter(tmp_path, {"x": 2}, shard_examples=4, overwrite=True).close()  # replace: drops the shards
    assert not list(tmp_path.glob("shard-?????.safetensors"))
    for name in user:
        assert (tmp_path / name).read_text() == "user"
    assert (tmp_path / "shard-dir").is_dir()


HOLDER = textwrap.dedent("""
    import sys, torch
    from probekit.store import StoreWriter
    writer = StoreWriter(sys.argv[1], {"x": 1}, shard_examples=4)
    writer.append({"a": torch.ones(2, 3)}, torch.arange(2), torch.zeros(2))
    print("holding", flush=True)
    sys.stdin.read()
""")


def test_a_second_writer_is_refused_while_the_first_lives_and_takes_over_once_it_died(tmp_path):
    store = tmp_path / "store"
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(store)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "holding"
        assert (store / LOCK_NAME).read_text().strip() == str(holder.pid)
        with pytest.raises(ProbekitError, match=f"another process \\(pid {holder.pid}\\) is writing"):
            StoreWriter(store, {"x": 1}, shard_examples=4)
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()
    assert (store / LOCK_NAME).read_text().strip() == str(holder.pid)  # stale lock left behind
    writer = StoreWriter(store, {"x": 1}, shard_examples=4)
    assert (store / LOCK_NAME).read_text().strip() == str(os.getpid())
    writer.close()
    assert not (store / LOCK_NAME).exists()
    writer = _write(store)
    assert writer.complete and not (store / LOCK_NAME).exists()


def test_in_one_process_a_new_writer_takes_over_an_idle_one_but_not_a_busy_one(tmp_path):
    first = StoreWriter(tmp_path, {"x": 1}, shard_examples=4)
    first.append({"a": DATA[:2]}, torch.arange(2), torch.zeros(2))
    first._lock.busy = True  # as while it writes a shard (from another thread)
    with pytest.raises(ProbekitError, match="another writer in this process"):
        StoreWriter(tmp_path, {"x": 1}, shard_examples=4)
    first._lock.busy = False  # idle, e.g. an interrupted extraction still referenced by its traceback
    second = StoreWriter(tmp_path, {"x": 1}, shard_examples=4)
    with pytest.raises(RuntimeError, match="took over"):
        first.append({"a": DATA[2:4]}, torch.arange(2, 4), torch.zeros(2))
    del first  # its garbage collection must not release the lock it gave away
    fd = os.open(tmp_path / LOCK_NAME, os.O_RDWR)
    try:
        with pytest.raises(BlockingIOError):  # still locked at the OS level, by `second`
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    finally:
        os.close(fd)
    second.close()
    assert not (tmp_path / LOCK_NAME).exists()


def test_stale_lock_file_of_a_dead_pid_is_taken_over(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (tmp_path / LOCK_NAME).write_text(f"{dead.pid}\n")
    writer = _write(tmp_path)
    assert writer.complete and json.loads((tmp_path / "manifest.json").read_text())["complete"]


def test_a_file_system_without_locks_warns_and_still_writes(tmp_path, monkeypatch):
    import errno

    from probekit.store import lock

    def no_locks(fd):
        raise OSError(errno.ENOLCK, "No locks available")
    monkeypatch.setattr(lock, "_lock_fd", no_locks)
    with pytest.warns(UserWarning, match="cannot lock.*would not be detected"):
        writer = _write(tmp_path)
    assert writer.complete and verify_store(tmp_path).ok
