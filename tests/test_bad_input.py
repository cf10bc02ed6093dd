"""Bad input never gives a silent wrong result, never loses a file, never shows a traceback.

Each case builds its own small CSV / folder in ``tmp_path`` and goes through the CLI entry
``probekit.cli.main`` (issue 19): exit status 2 with one ``error:`` line naming the bad
value, or the right result (duplicates grouped, labels normalised with a warning).
"""

from __future__ import annotations

import csv
import json
import shutil

import numpy as np
import pytest
import torch
from PIL import Image

from probekit.cli import main
from probekit.concepts import load_concept_dataset
from probekit.concepts.dataset import group_identical_inputs
from probekit.errors import ProbekitError


def _fails(code, capsys, *needles) -> str:
    """Exit 2, one ``error:`` line on stderr holding every needle, no traceback."""
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err
    last = err.strip().splitlines()[-1]
    assert last.startswith("error:"), err
    for needle in needles:
        assert needle in last, (needle, last)
    return last


def _write_csv(path, header, rows):
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def _image_folder(root, n_per_class=3, corrupt=False):
    rng = np.random.default_rng(0)
    for k, name in enumerate(("cat", "dog")):
        (root / name).mkdir(parents=True)
        for i in range(n_per_class):
            pixels = rng.integers(0, 120, (24, 24, 3), dtype=np.uint8) + 120 * k
            Image.fromarray(pixels.astype(np.uint8)).save(root / name / f"{name}{i}.png")
    if corrupt:
        (root / "cat" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    return root


# -- 1. modality mismatch ------------------------------------------------------------------

def test_text_model_on_image_folder_is_refused(tmp_path, tiny_model_dir, capsys):
    folder = _image_folder(tmp_path / "imgs")
    out = tmp_path / "run"
    code = main(["probe", "--model", str(tiny_model_dir), "--dataset", f"imagefolder:{folder}",
                 "--concept", "class", "--out", str(out), "--quiet"])
    _fails(code, capsys, "takes text inputs", "image inputs")
    assert not (out / "activations").exists() and not (out / "results.csv").exists()


def test_image_model_on_csv_is_refused(tmp_path, tiny_csv, capsys):
    code = main(["probe", "--model", "torchvision:resnet18", "--dataset", str(tiny_csv), "--text-column",
                 "sentence", "--label-column", "truth", "--out", str(tmp_path / "run"), "--quiet"])
    _fails(code, capsys, "takes image inputs", "text inputs", "imagefolder:")


def test_concept_with_text_data_is_refused(tmp_path, tiny_model_dir, tiny_csv, capsys):
    code = main(["probe", "--model", str(tiny_model_dir), "--dataset", str(tiny_csv), "--text-column",
                 "sentence", "--label-column", "truth", "--concept", "animal", "--out", str(tmp_path / "r"),
                 "--quiet"])
    _fails(code, capsys, "--concept 'animal'", "image data")


def test_loaded_model_kind_is_checked_against_the_data(tiny_model_dir, tiny_csv, tmp_path):
    from probekit.extract.runner import ExtractionConfig
    from probekit.models import load_model
    from probekit.pipeline import check_inputs

    loaded = load_model(str(tiny_model_dir))
    images = load_concept_dataset(f"imagefolder:{_image_folder(tmp_path / 'imgs')}", progress=False)
    assert images.modality == "image"
    with pytest.raises(ProbekitError, match=r"\(causal-lm\) takes text inputs"):
        check_inputs(loaded, images, ExtractionConfig())
    text = load_concept_dataset(str(tiny_csv), text_column="sentence", label_column="truth")
    assert text.modality == "text"
    assert check_inputs(loaded, text, ExtractionConfig(max_length=64)).max_length == 64


# -- 2. duplicates -------------------------------------------------------------------------

def test_identical_texts_share_a_group_transitively():
    texts = ["a b", "c", "a  b ", "d", "c", "e"]
    groups, stats = group_identical_inputs(texts)
    assert groups.tolist() == [0, 1, 0, 3, 1, 5]
    assert stats == {"duplicate_rows": 2, "duplicate_texts": 2, "groups_merged": 2}
    # given groups g1 = {0, 3}; text "a b" joins rows 0 and 2, so {0, 2, 3} is one group
    given = np.array(["g1", "g2", "g3", "g1", "g4", "g5"])
    groups, stats = group_identical_inputs(texts, given)
    assert groups.tolist() == ["g1", "g2", "g1", "g1", "g2", "g5"]
    assert stats["groups_merged"] == 2
    untouched, stats = group_identical_inputs(["x", "y"], np.array(["p", "q"]))
    assert untouched.tolist() == ["p", "q"] and stats == {"duplicate_rows": 0, "duplicate_texts": 0,
                                                          "groups_merged": 0}


@pytest.fixture(scope="module")
def wide_model_dir(tmp_path_factory):
    """A random 2-layer Llama with 256-d hidden states: wide enough to memorise 100 random labels."""
    from transformers import AutoModelForCausalLM, AutoTokenizer, LlamaConfig

    from probekit.models.embedded import embedded_path

    tokenizer = AutoTokenizer.from_pretrained(embedded_path("minilm-l6"))
    config = LlamaConfig(vocab_size=tokenizer.vocab_size, hidden_size=256, intermediate_size=256,
                         num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                         max_position_embeddings=128, architectures=["LlamaForCausalLM"])
    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("wide-llama")
    AutoModelForCausalLM.from_config(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def test_duplicated_rows_of_random_labels_score_chance(tmp_path, wide_model_dir, capsys):
    from probekit.probes.sweep import layer_sweep
    from probekit.store.reader import ActivationStore

    rng = np.random.default_rng(0)
    words = "apple river stone cloud green quick table lamp horse music paper glass winter metal ocean".split()
    texts: dict[str, int] = {}
    while len(texts) < 100:
        texts.setdefault(" ".join(rng.choice(words, 6)), int(rng.integers(0, 2)))
    rows = list(texts.items())
    data = _write_csv(tmp_path / "dup.csv", ["text", "label"], rows + rows)
    out = tmp_path / "run"
    assert main(["probe", "--model", str(wide_model_dir), "--dataset", str(data), "--out", str(out),
                 "--n-splits", "3", "--quiet"]) == 0
    results = list(csv.DictReader(open(out / "results.csv")))
    assert len(results) == 3
    for r in results:
        assert abs(float(r["selectivity"])) < 0.2 and float(r["score"]) < 0.68, r
    payload = json.loads((out / "results.json").read_text())
    assert payload["data"]["duplicates"] == {"duplicate_rows": 100, "duplicate_texts": 100, "groups_merged": 100}
    report = (out / "report.md").read_text()
    assert "**duplicates**: 100 row(s) repeat an earlier row's text (100 distinct text(s)" in report
    assert "100 groups" in report
    # Reference: the same features with one group per row leak across folds (memorised).
    dataset = load_concept_dataset(str(data))
    dataset.groups = np.arange(len(dataset))
    store = ActivationStore(out / "activations")
    names = [r["hook_point"] for r in results]
    leaky = layer_sweep({n: store.numpy(n) for n in names}, {n: i for i, n in enumerate(names)}, dataset,
                        store.example_index(), n_splits=3, seed=0, progress=False)
    assert max(r.score for r in leaky) > 0.75 and max(r.selectivity for r in leaky) > 0.25


# -- 3. label hygiene ----------------------------------------------------------------------

def test_text_labels_are_normalised_with_a_warning(tmp_path):
    data = _write_csv(tmp_path / "yn.csv", ["text", "label"],
                      [("a", "yes"), ("b", " yes"), ("c", "Yes"), ("d", "No"), ("e", "no"), ("f", "no ")])
    with pytest.warns(UserWarning, match=r"' yes' \| 'Yes' \| 'yes' -> 'yes'") as record:
        ds = load_concept_dataset(str(data))
    assert "'No' | 'no' | 'no ' -> 'no'" in str(record[0].message)
    assert ds.task == "binary" and ds.label_names == ["no", "yes"]
    assert ds.labels.tolist() == [1, 1, 1, 0, 0, 0]
    assert ds.metadata["label_mapping"] == {"yes": [" yes", "Yes", "yes"], "no": ["No", "no", "no "]}


def test_true_false_spellings_are_one_class(tmp_path):
    data = _write_csv(tmp_path / "tf.csv", ["text", "label"],
                      [("a", "True"), ("b", "TRUE"), ("c", "true"), ("d", "False"), ("e", "false")])
    ds = load_concept_dataset(str(data))
    assert ds.task == "binary" and ds.label_names == ["false", "true"]
    assert ds.labels.tolist() == [1, 1, 1, 0, 0]
    mixed = _write_csv(tmp_path / "mixed.csv", ["text", "label"],
                       [("a", "True"), ("b", " true"), ("c", "maybe"), ("d", "False")])
    with pytest.warns(UserWarning, match="' true' | 'True' -> 'true'"):
        ds = load_concept_dataset(str(mixed))
    assert ds.label_names == ["false", "maybe", "true"] and ds.labels.tolist() == [2, 2, 1, 0]


def test_binary_task_with_three_classes_names_them(tmp_path, tiny_model_dir, capsys):
    data = _write_csv(tmp_path / "three.csv", ["text", "label"],
                      [("a", "red"), ("b", "green"), ("c", "blue"), ("d", "red")])
    code = main(["probe", "--model", str(tiny_model_dir), "--dataset", str(data), "--task", "binary",
                 "--out", str(tmp_path / "r"), "--quiet"])
    _fails(code, capsys, "task 'binary'", "3 classes", "'blue', 'green', 'red'")
    numbers = _write_csv(tmp_path / "n.csv", ["text", "label"], [("a", 0), ("b", 1), ("c", 2)])
    code = main(["probe", "--model", str(tiny_model_dir), "--dataset", str(numbers), "--task", "binary",
                 "--out", str(tmp_path / "r"), "--quiet"])
    _fails(code, capsys, "3 classes", "'0', '1', '2'")


@pytest.mark.parametrize("task", [None, "continuous", "multiclass"])
def test_infinite_labels_name_their_rows(tmp_path, tiny_model_dir, capsys, task):
    data = _write_csv(tmp_path / "inf.csv", ["text", "label"],
                      [("a", 1.5), ("b", "inf"), ("c", 0.5), ("d", "-inf"), ("e", 2.0)])
    code = main(["probe", "--model", str(tiny_model_dir), "--dataset", str(data), "--out", str(tmp_path / "r"),
                 "--quiet"] + (["--task", task] if task else []))
    _fails(code, capsys, "2 label(s) are infinite or NaN at rows 1, 3", "(inf, -inf)")


# -- 4. empty text cells -------------------------------------------------------------------

def test_empty_text_cells_name_their_rows(tmp_path, tiny_model_dir, capsys):
    data = tmp_path / "holes.csv"
    data.write_text("text,label\nfirst,1\n,0\nthird,1\n   ,0\nfifth,0\n")
    code = main(["probe", "--model", str(tiny_model_dir), "--dataset", str(data), "--out", str(tmp_path / "r"),
                 "--quiet"])
    _fails(code, capsys, "2 empty text cell(s) in column 'text' at rows 1, 3")


# -- 5. max length against the model's context ---------------------------------------------

def test_context_length_of_text_and_image_models(tiny_models):
    from probekit.models import context_length, load_model
    from probekit.models.context import context_limits

    gpt2 = load_model(str(tiny_models["gpt2"]))
    # conftest builds GPT-2 with n_positions=128 (GPT2Config maps max_position_embeddings to it)
    assert context_limits(gpt2) == {"config.max_position_embeddings": 128, "tokenizer.model_max_length": 512}
    assert context_length(gpt2) == 128
    gpt2.tokenizer.model_max_length = 100
    assert context_length(gpt2) == 100
    gpt2.tokenizer.model_max_length = int(1e30)  # the "no limit" sentinel of transformers
    assert context_limits(gpt2) == {"config.max_position_embeddings": 128}
    image = load_model("torchvision:resnet18")
    assert context_length(image) is None


def test_max_length_beyond_the_context_is_an_error(tmp_path, tiny_model_dir, tiny_csv, capsys):
    args = ["probe", "--model", str(tiny_model_dir), "--dataset", str(tiny_csv), "--text-column", "sentence",
            "--label-column", "truth", "--n-splits", "2", "--quiet"]
    code = main(args + ["--max-length", "20000", "--out", str(tmp_path / "big")])
    _fails(code, capsys, "--max-length 20000", "128 tokens", "config.max_position_embeddings 128",
           "--max-length 128 or less")
    assert not (tmp_path / "big" / "activations").exists()
    # the default (256) is capped at the context with a warning, and the run records 128
    with pytest.warns(UserWarning, match="default --max-length 256 .* using 128"):
        assert main(args + ["--out", str(tmp_path / "default")]) == 0
    payload = json.loads((tmp_path / "default" / "results.json").read_text())
    assert payload["config"]["extraction"]["max_length"] == 128
    assert payload["facts"]["max length"] == "128 tokens"


# -- 6. a failed run loses no file ---------------------------------------------------------

@pytest.fixture(scope="module")
def earlier_run(tmp_path_factory, tiny_model_dir, tiny_csv_module):
    """A finished probe run (results, plot, report, store) plus the user's own files."""
    out = tmp_path_factory.mktemp("earlier") / "run"
    args = _good_probe(tiny_model_dir, tiny_csv_module, out)
    assert main(args) == 0
    (out / "notes.txt").write_text("my own notes")
    (out / "shard-notes.txt").write_text("also mine")
    return out


@pytest.fixture(scope="module")
def tiny_csv_module(tmp_path_factory):
    rows = [(f"{city} is in {country}.", label, city) for city, country, label in
            [("Paris", "France", 1), ("Paris", "Italy", 0), ("Rome", "Italy", 1), ("Rome", "Spain", 0),
             ("Oslo", "Norway", 1), ("Oslo", "Sweden", 0), ("Lima", "Peru", 1), ("Lima", "Chile", 0)]]
    return _write_csv(tmp_path_factory.mktemp("csv") / "facts.csv", ["sentence", "truth", "pair"], rows)


def _good_probe(model, data, out):
    return ["probe", "--model", str(model), "--dataset", str(data), "--text-column", "sentence",
            "--label-column", "truth", "--group-column", "pair", "--n-splits", "2", "--out", str(out), "--quiet"]


@pytest.mark.parametrize("bad", ["empty-cell", "modality", "max-length", "modules"])
def test_failed_probe_leaves_every_file_untouched(tmp_path, tiny_model_dir, tiny_csv_module, earlier_run, capsys,
                                                  bad):
    out = tmp_path / "run"
    shutil.copytree(earlier_run, out)
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert {"results.csv", "results.json", "report.md", "probe_scores.png", "notes.txt"} <= {
        str(p) for p in before}
    holes = tmp_path / "holes.csv"
    holes.write_text("sentence,truth,pair\nfirst,1,a\n,0,a\nthird,1,b\n")
    argv = {
        "empty-cell": ["--dataset", str(holes)],
        "modality": ["--dataset", f"imagefolder:{_image_folder(tmp_path / 'imgs')}"],
        "max-length": ["--max-length", "999"],
        "modules": ["--modules", "model.layer.*"],
    }[bad]
    _fails(main(_good_probe(tiny_model_dir, tiny_csv_module, out) + argv), capsys)
    after = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert after == before


def test_results_are_written_all_or_nothing(tmp_path):
    from probekit.pipeline import write_all_or_nothing

    (tmp_path / "a.txt").write_text("old a")
    (tmp_path / "b.txt").write_text("old b")

    def broken(path):
        path.write_text("half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        write_all_or_nothing(tmp_path, {"a.txt": lambda p: p.write_text("new a"), "b.txt": broken})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt", "b.txt"]
    assert (tmp_path / "a.txt").read_text() == "old a" and (tmp_path / "b.txt").read_text() == "old b"
    write_all_or_nothing(tmp_path, {"a.txt": lambda p: p.write_text("new a"), "c.txt": lambda p: p.write_text("c")})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt", "b.txt", "c.txt"]
    assert (tmp_path / "a.txt").read_text() == "new a"


# -- 7. tracebacks become clear errors -----------------------------------------------------

def test_model_folder_without_weights(tmp_path, tiny_model_dir, capsys):
    folder = tmp_path / "no-weights"
    folder.mkdir()
    shutil.copy(tiny_model_dir / "config.json", folder / "config.json")
    code = main(["list-modules", "--model", str(folder)])
    _fails(code, capsys, "has config.json but no weight files")


def test_model_folder_with_damaged_weights(tmp_path, tiny_model_dir, capsys):
    folder = tmp_path / "damaged"
    shutil.copytree(tiny_model_dir, folder)
    weights = folder / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:1000])
    code = main(["list-modules", "--model", str(folder)])
    _fails(code, capsys, "could not load the weights of model")


def test_model_folder_without_tokenizer(tmp_path, tiny_model_dir, capsys):
    folder = tmp_path / "no-tokenizer"
    folder.mkdir()
    for name in ("config.json", "model.safetensors"):
        shutil.copy(tiny_model_dir / name, folder / name)
    code = main(["list-modules", "--model", str(folder)])
    _fails(code, capsys, "tokenizer")


@pytest.mark.parametrize("content", ["{not json", "[1, 2]", ""])
def test_garbage_config_json(tmp_path, capsys, content):
    folder = tmp_path / "garbage"
    folder.mkdir()
    (folder / "config.json").write_text(content)
    code = main(["list-modules", "--model", str(folder)])
    _fails(code, capsys, "config.json")


def test_fake_gguf_file(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("PROBEKIT_CACHE_DIR", str(tmp_path / "cache"))
    fake = tmp_path / "model.gguf"
    fake.write_bytes(b"this is not a gguf file at all" * 10)
    code = main(["list-modules", "--model", str(fake)])
    _fails(code, capsys, "as a GGUF model")
    assert not list((tmp_path / "cache").rglob("*.safetensors"))


def test_predict_skips_a_corrupt_image_like_probe(tmp_path, capsys):
    folder = _image_folder(tmp_path / "imgs", n_per_class=2, corrupt=True)
    flat = tmp_path / "flat"
    flat.mkdir()
    for path in folder.rglob("*.*"):
        shutil.copy(path, flat / path.name)
    with pytest.warns(UserWarning, match="skipped 1 unreadable image file"):
        code = main(["predict", "--model", "torchvision:resnet18", "--images", str(flat), "--top-k", "2"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    lines = captured.out.strip().splitlines()
    assert len([line for line in lines if line.endswith(")") and ".png:" in line]) == 4
    assert "skipped 1 unreadable image file(s)" in lines[-1] and "broken.jpg" in lines[-1]
    # probe's folder scan skips the same file and counts it
    with pytest.warns(UserWarning, match="skipped 1 unreadable"):
        dataset = load_concept_dataset(f"imagefolder:{folder}", concept="class", progress=False)
    assert len(dataset) == 4 and dataset.metadata["n_skipped"] == 1
    only_broken = tmp_path / "broken"
    only_broken.mkdir()
    shutil.copy(folder / "cat" / "broken.jpg", only_broken / "broken.jpg")
    code = main(["predict", "--model", "torchvision:resnet18", "--images", str(only_broken)])
    _fails(code, capsys, "no readable image", "broken.jpg")
