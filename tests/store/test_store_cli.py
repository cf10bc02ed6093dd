"""`probekit extract` and `probekit store verify` on damaged stores, garbage manifests and user files."""

import pytest

from probekit.cli import main


def _extract(tiny_model_dir, tiny_csv, out, *extra):
    return main(["extract", "--model", str(tiny_model_dir), "--dataset", str(tiny_csv), "--text-column",
                 "sentence", "--label-column", "truth", "--modules", "model.layers.*", "--out", str(out),
                 "--quiet", *extra])


def test_extract_rerun_recomputes_a_damaged_shard_and_keeps_user_files(tmp_path, tiny_model_dir, tiny_csv,
                                                                       capsys):
    out = tmp_path / "acts"
    out.mkdir()
    (out / "shard-notes.txt").write_text("mine")
    assert _extract(tiny_model_dir, tiny_csv, out) == 0
    shard = out / "shard-00000.safetensors"
    good = shard.read_bytes()
    flipped = bytearray(good)
    flipped[-5] ^= 0x01
    shard.write_bytes(bytes(flipped))
    capsys.readouterr()
    assert main(["store", "verify", str(out)]) == 2
    captured = capsys.readouterr()
    assert "shard-00000.safetensors" in captured.err and "checksum" in captured.err
    assert "DAMAGED" in captured.out
    with pytest.warns(UserWarning, match="shard-00000.safetensors.*recomputing"):
        assert _extract(tiny_model_dir, tiny_csv, out) == 0
    assert shard.read_bytes() == good
    assert main(["store", "verify", str(out)]) == 0
    # another configuration with --overwrite replaces the store's shards, not the user's file
    assert _extract(tiny_model_dir, tiny_csv, out, "--token-selection", "mean", "--overwrite") == 0
    assert (out / "shard-notes.txt").read_text() == "mine"


def test_extract_into_a_garbage_manifest_needs_overwrite(tmp_path, tiny_model_dir, tiny_csv, capsys):
    out = tmp_path / "acts"
    out.mkdir()
    (out / "manifest.json").write_text("{ this is not json")
    assert _extract(tiny_model_dir, tiny_csv, out) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and "manifest.json" in err and "--overwrite" in err
    assert _extract(tiny_model_dir, tiny_csv, out, "--overwrite") == 0
    assert main(["store", "verify", str(out)]) == 0
