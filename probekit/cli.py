"""Command line: a thin layer that fills typed configs and calls the library.

Sub-commands: ``probe`` (the main job), ``list-modules``, ``extract``, ``predict``, ``check``.
Bad input prints one ``error:`` line to stderr and exits with status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from probekit.errors import run_command

EPILOG = """examples:
  probekit probe                                   # SmolLM2-135M on the built-in 'cities' set
  probekit probe --model ./my-checkpoint --dataset my.csv --text-column statement --label-column label
  probekit probe --model smollm2-135m --dataset world-places-lat
  probekit list-modules --model smollm2-135m
  probekit check --model smollm2-135m               # does probekit read this model right?
  probekit extract --model minilm-l6 --dataset cities --modules 'encoder.layer.*' --out acts/
"""


def _add_model_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", default="smollm2-135m",
                   help="embedded name (smollm2-135m, minilm-l6, efficientnet-lite0), local folder, "
                        ".gguf file, torchvision:NAME, or hub id (default: %(default)s)")
    p.add_argument("--weights", default=None, help="vision models: state-dict file or torchvision Weights name")
    p.add_argument("--dtype", default=None, choices=["auto", "float32", "float16", "bfloat16"],
                   help="model dtype (default float32)")
    p.add_argument("--device", default=None, help="torch device, e.g. cpu or cuda:0")
    p.add_argument("--device-map", default=None, help="accelerate device_map, e.g. auto")
    p.add_argument("--trust-remote-code", action="store_true", help="allow model code from the hub folder")
    p.add_argument("--padding-side", default="right", choices=["left", "right"])


def _add_data_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dataset", default="cities",
                   help="built-in (cities, world-places-lat, world-places-lon, number-agreement), "
                        "a .csv/.jsonl/.parquet file, imagefolder:DIR, or a hub data set id "
                        "(default: %(default)s)")
    p.add_argument("--text-column", default=None)
    p.add_argument("--label-column", default=None)
    p.add_argument("--group-column", default=None, help="rows sharing a group never straddle train/test")
    p.add_argument("--word-type-column", default=None, help="word types for Hewitt & Liang control tasks")
    p.add_argument("--task", default=None, choices=["binary", "multiclass", "continuous"])
    p.add_argument("--limit", type=int, default=None, help="use only the first N rows")
    p.add_argument("--concept", default=None, help="image data: animal, brightness, class, ...")


def _add_extract_args(p: argparse.ArgumentParser, default_modules: str) -> None:
    p.add_argument("--modules", default=default_modules,
                   help="comma-separated: resid | attn | mlp | hook point names/globs "
                        "(blocks.*.resid_post) | module names/globs (model.layers.*) "
                        "(default: %(default)s)")
    p.add_argument("--token-selection", default=None,
                   help="last | mean | all | positions:0,-1 (default: last for causal language models, "
                        "mean over real tokens for encoders)")
    p.add_argument("--pooling", default="mean", help="image models: mean | max | flatten | cls")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--max-length", type=int, default=256,
                   help="tokens per text; longer texts are truncated (default %(default)s, capped at the "
                        "model's context; a larger explicit value is an error)")
    p.add_argument("--store-dtype", default="float32", choices=["float32", "float16", "bfloat16"])
    p.add_argument("--shard-size", default="256MiB",
                   help="bytes per store shard at most, e.g. 256MB or 1GiB (default %(default)s)")
    p.add_argument("--no-stop-early", action="store_true", help="run the full forward pass")
    p.add_argument("--no-check", action="store_true",
                   help="skip the self-check (hidden states and padding; see `probekit check`) run first")
    p.add_argument("--overwrite", action="store_true", help="replace a store of another configuration")
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def build_parser() -> argparse.ArgumentParser:
    """The argparse parser of the ``probekit`` command and its sub-commands."""
    parser = argparse.ArgumentParser(prog="probekit", description="Probe what a pretrained model knows.",
                                     epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    probe = sub.add_parser("probe", help="probe every layer for a concept; write results, plot, report")
    _add_model_args(probe)
    _add_data_args(probe)
    _add_extract_args(probe, "resid")
    probe.add_argument("--n-splits", type=int, default=5, help="outer group-split folds")
    probe.add_argument("--seed", type=int, default=0, help="seed of the outer split and control draws")
    probe.add_argument("--seeds", type=int, default=1, help="repeat the outer split with this many seeds")
    probe.add_argument("--n-controls", type=int, default=5,
                       help="control draws (shuffled labels / control tasks) per hook point (default %(default)s)")
    probe.add_argument("--probe-device", default="auto", help="probe engine device: auto | cpu | cuda[:N]")
    probe.add_argument("--probe-dtype", default="float32", choices=["float32", "float64"])
    probe.add_argument("--out", default=None, help="output folder (default runs/<model>_<dataset>)")
    probe.add_argument("--no-baselines", action="store_true",
                       help="image models: skip the random-init and pixel-projection baselines")

    lm = sub.add_parser("list-modules", help="list hook points and modules with output shapes")
    _add_model_args(lm)
    lm.add_argument("--all", action="store_true", help="every module, not only hook points and top levels")

    ex = sub.add_parser("extract", help="extract activations to a store")
    _add_model_args(ex)
    _add_data_args(ex)
    _add_extract_args(ex, "resid")
    ex.add_argument("--out", required=True, help="store folder")
    ex.add_argument("--shard", default=None, metavar="i/N",
                    help="job arrays: extract only the i-th (from 0) of N contiguous slices into a partial "
                         "store; join the parts with `probekit store merge OUT PART...`")

    ck = sub.add_parser("check", help="self-check: hook points vs hidden_states, padding, sublayer sums, "
                                      "steering during generation; exit 2 when a check fails")
    _add_model_args(ck)
    ck.add_argument("--json", default=None, help="also write the table as JSON to this file")

    pr = sub.add_parser("predict", help="image models: top-5 classes for each image")
    _add_model_args(pr)
    pr.add_argument("--images", required=True, help="folder of images")
    pr.add_argument("--top-k", type=int, default=5)

    st = sub.add_parser("store", help="activation store tools: verify, merge")
    st_sub = st.add_subparsers(dest="store_command", required=True)
    sv = st_sub.add_parser("verify", help="check every shard's size and checksum (exit 2 naming damaged shards)")
    sv.add_argument("directory", help="store folder")
    sm = st_sub.add_parser("merge", help="join the partial stores of `probekit extract --shard i/N` into one store")
    sm.add_argument("out", help="output store folder")
    sm.add_argument("parts", nargs="+", help="partial store folders (any order)")
    sm.add_argument("--overwrite", action="store_true", help="replace another store in OUT")
    from probekit.audit._cli import add_parsers

    add_parsers(sub)  # audit, compare
    return parser


def _configs(args):
    from probekit.config import DatasetConfig, ModelConfig, ProbeConfig, RunConfig
    from probekit.extract.runner import ExtractionConfig

    model = ModelConfig(name=args.model, dtype=args.dtype, device=args.device, device_map=args.device_map,
                        trust_remote_code=args.trust_remote_code, padding_side=args.padding_side,
                        weights=args.weights)
    dataset = DatasetConfig(name=args.dataset, text_column=args.text_column, label_column=args.label_column,
                            group_column=args.group_column, word_type_column=args.word_type_column,
                            task=args.task, limit=args.limit, concept=args.concept)
    extraction = ExtractionConfig(modules=args.modules, token_selection=args.token_selection,
                                  pooling=args.pooling, batch_size=args.batch_size,
                                  max_length=args.max_length, store_dtype=args.store_dtype,
                                  stop_early=not args.no_stop_early, check=not args.no_check,
                                  shard_size=args.shard_size)
    probe = ProbeConfig(n_splits=getattr(args, "n_splits", 5), seed=getattr(args, "seed", 0),
                        seeds=getattr(args, "seeds", 1), n_controls=getattr(args, "n_controls", 5),
                        device=getattr(args, "probe_device", "auto"), dtype=getattr(args, "probe_dtype", "float32"))
    return RunConfig(model=model, dataset=dataset, extraction=extraction, probe=probe, out=args.out,
                     overwrite=args.overwrite, progress=not args.quiet,
                     baselines=not getattr(args, "no_baselines", False))


def _load(args):
    from probekit.extract.distributed import rank_device
    from probekit.models import load_model

    return load_model(args.model, weights=args.weights, dtype=args.dtype, device=rank_device(args.device),
                      device_map=args.device_map, trust_remote_code=args.trust_remote_code,
                      padding_side=args.padding_side)


def cmd_probe(args) -> int:
    """``probekit probe``: run the main job, print the table, write the outputs."""
    from probekit.pipeline import run_probe

    config = _configs(args)
    rows = run_probe(config)
    out = Path(config.output_dir())
    best = max((r for r in rows if r["variant"] == "pretrained"), key=lambda r: r["score"])
    print(f"{'variant':<17} {'hook point':<24} {'layer':>5} {rows[0]['metric']:>9} {'±':>6} {'control':>8} "
          f"{'select.':>8}")
    for r in rows:
        print(f"{r['variant']:<17} {r['hook_point']:<24} {r['layer']:>5} {r['score']:>9.3f} {r['score_std']:>6.3f} "
              f"{r['control_score']:>8.3f} {r['selectivity']:>8.3f}")
    print(f"\nbest: {best['hook_point']} (layer {best['layer']}) {best['metric']} {best['score']:.3f}")
    print(f"wrote {out}/results.csv, results.json, probe_scores.png, report.md")
    return 0


def cmd_extract(args) -> int:
    """``probekit extract``: write an activation store (and its config.json)."""
    from probekit.concepts import load_concept_dataset
    from probekit.errors import ProbekitError
    from probekit.extract.distributed import distributed_env, extract_distributed, is_main_process
    from probekit.extract.runner import extract
    from probekit.models import is_vision_model
    from probekit.pipeline import check_inputs, check_modality
    from probekit.store.parts import parse_shard

    shard = parse_shard(args.shard) if args.shard is not None else None  # bad i/N fails before any loading
    if shard is not None and distributed_env() is not None:
        raise ProbekitError("--shard splits the data across separate jobs; under torchrun / accelerate launch "
                            "the ranks split it already: drop --shard")
    config = _configs(args)
    dataset = load_concept_dataset(args.dataset, text_column=args.text_column, label_column=args.label_column,
                                   group_column=args.group_column, word_type_column=args.word_type_column,
                                   task=args.task, limit=args.limit, concept=args.concept,
                                   progress=not args.quiet)
    check_modality(dataset, "image" if is_vision_model(args.model) else "text", args.model)
    loaded = _load(args)
    extraction = check_inputs(loaded, dataset, config.extraction)
    if distributed_env() is not None:  # torchrun / accelerate launch: every rank a slice, rank 0 merges
        store, points = extract_distributed(loaded, dataset, extraction, args.out, overwrite=args.overwrite,
                                            progress=not args.quiet)
        if not is_main_process():
            return 0
    else:
        store, points = extract(loaded, dataset, extraction, args.out, overwrite=args.overwrite,
                                progress=not args.quiet, shard=shard)
    record = config.to_dict()
    record["extraction"]["max_length"] = extraction.max_length
    (Path(args.out) / "config.json").write_text(json.dumps(record, indent=2, default=str))
    print(f"wrote {store.n_rows} rows x {len(points)} hook points to {args.out}")
    return 0


def cmd_list_modules(args) -> int:
    """``probekit list-modules``: hook points and modules with output shapes."""
    from probekit.extract.inspect import describe_modules

    loaded = _load(args)
    for line in describe_modules(loaded, all_modules=args.all):
        print(line)
    return 0


def cmd_predict(args) -> int:
    """``probekit predict``: top-k classes per image (and accuracy for ImageNet names)."""
    from probekit.models.predict import predict_folder_report

    loaded = _load(args)
    for line in predict_folder_report(loaded, args.images, top_k=args.top_k):
        print(line)
    return 0


def cmd_store(args) -> int:
    """``probekit store verify DIR``: print each shard's state; a damaged store exits 2.
    ``probekit store merge OUT PART...``: join partial stores (mismatched parts exit 2)."""
    from probekit.store import merge_stores, verify_store

    if args.store_command == "merge":
        store = merge_stores(args.out, args.parts, overwrite=args.overwrite)
        config = Path(args.parts[0]) / "config.json"  # what `probekit extract` wrote next to each part
        if config.is_file():
            (Path(args.out) / "config.json").write_bytes(config.read_bytes())
        print(f"merged {len(args.parts)} parts into {args.out}: {store.manifest['n_examples']} examples, "
              f"{store.n_rows} rows")
        return 0

    report = verify_store(args.directory)
    for line in report.lines():
        print(line)
    report.raise_if_damaged()
    return 0


def _silence_libraries() -> None:
    """No progress bars or load reports from transformers / datasets in quiet mode."""
    import transformers

    transformers.utils.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()


def cmd_check(args) -> int:
    """``probekit check``: print the self-check table; exit 2 naming a failed check."""
    from probekit.check import check_model

    report = check_model(_load(args))
    print(report.table())
    if args.json:
        Path(args.json).write_text(json.dumps(report.to_dict(), indent=2))
    report.raise_if_failed()
    return 0


def cmd_audit(args) -> int:
    from probekit.audit._cli import cmd_audit as run

    return run(args)


def cmd_compare(args) -> int:
    from probekit.audit._cli import cmd_compare as run

    return run(args)


COMMANDS = {"probe": cmd_probe, "extract": cmd_extract, "list-modules": cmd_list_modules,
            "predict": cmd_predict, "check": cmd_check, "store": cmd_store, "audit": cmd_audit,
            "compare": cmd_compare}


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``probekit`` command; returns the exit status."""
    args = build_parser().parse_args(argv)
    if getattr(args, "quiet", False):
        _silence_libraries()
    try:
        return run_command(lambda: COMMANDS[args.command](args))
    except KeyboardInterrupt:
        print("interrupted; an unfinished activation store resumes when the same command runs again",
              file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
