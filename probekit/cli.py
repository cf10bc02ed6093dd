"""Command line: a thin layer that fills typed configs and calls the library.

Sub-commands: ``probe`` (the main job), ``list-modules``, ``extract``, ``predict``, ``check``,
``store``, ``rerun``. The options of ``probe`` / ``extract`` / ... are generated from the
config dataclasses (:mod:`probekit.config`, :class:`~probekit.extract.runner.ExtractionConfig`)
by :mod:`probekit.cliargs`, so a new config field is a new option without editing this file.
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
  probekit probe --config run.toml --n-splits 10     # settings from a TOML file; flags win
  probekit rerun runs/smollm2-135m_cities --out again/  # repeat a run from its record
"""


def _command(sub, name: str, help: str, config_class, **options) -> argparse.ArgumentParser:
    """A sub-command whose options come from ``config_class`` (see :func:`probekit.cliargs.add_config_options`)."""
    from probekit.cliargs import add_config_file_option, add_config_options

    parser = sub.add_parser(name, help=help, description=help)
    if options.pop("config_file", False):
        add_config_file_option(parser)
    add_config_options(parser, config_class, **options)
    parser.set_defaults(config_class=config_class)
    return parser


def build_parser(config_class=None) -> argparse.ArgumentParser:
    """The argparse parser of the ``probekit`` command and its sub-commands.

    Parameters
    ----------
    config_class:
        The run config dataclass whose fields become the options (default
        :class:`probekit.config.RunConfig`; a subclass with more fields gets more options).
    """
    from probekit import __version__
    from probekit.config import RunConfig

    config_class = config_class or RunConfig
    parser = argparse.ArgumentParser(prog="probekit", description="Probe what a pretrained model knows.",
                                     epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"probekit {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    _command(sub, "probe", "probe every layer for a concept; write results, plot, report", config_class,
             config_file=True)
    lm = _command(sub, "list-modules", "list hook points and modules with output shapes", config_class,
                  config_file=True, include={"model", "progress"})
    lm.add_argument("--all", action="store_true", help="every module, not only hook points and top levels "
                                                       "(default: off)")
    ex = _command(sub, "extract", "extract activations to a store", config_class, config_file=True,
                  exclude={"probe", "baselines", "random_init"})
    ex.add_argument("--shard", default=None, metavar="i/N",
                    help="job arrays: extract only the i-th (from 0) of N contiguous slices into a partial "
                         "store; join the parts with `probekit store merge OUT PART...` (default: all)")
    ck = _command(sub, "check", "self-check: hook points vs hidden_states, padding, sublayer sums, steering "
                                "during generation; exit 2 when a check fails", config_class,
                  config_file=True, include={"model", "progress"})
    ck.add_argument("--json", default=None, help="also write the table as JSON to this file (default: none)")
    pr = _command(sub, "predict", "image models: top-5 classes for each image", config_class,
                  config_file=True, include={"model", "progress"})
    pr.add_argument("--images", required=True, help="folder of images (required)")
    pr.add_argument("--top-k", type=int, default=5, help="classes per image (default: %(default)s)")
    rr = _command(sub, "rerun", "repeat a probe or extract run from its run record (results.json / run.json)",
                  config_class, include={"progress"})
    rr.add_argument("directory", help="folder of the run: a probe output folder or an extract store folder")
    rr.add_argument("--out", dest="rerun_out", default=None, metavar="DIR",
                    help="write the repeated run here (default: the run's own folder)")

    st = sub.add_parser("store", help="activation store tools: verify, merge")
    st_sub = st.add_subparsers(dest="store_command", required=True)
    sv = _command(st_sub, "verify", "check every shard's size and checksum (exit 2 naming damaged shards)",
                  config_class, include={"progress"})
    sv.add_argument("directory", help="store folder")
    sm = _command(st_sub, "merge", "join the partial stores of `probekit extract --shard i/N` into one store",
                  config_class, include={"progress"})
    sm.add_argument("out", help="output store folder")
    sm.add_argument("parts", nargs="+", help="partial store folders (any order)")
    sm.add_argument("--overwrite", action="store_true", help="replace another store in OUT (default: off)")
    from probekit.audit._cli import add_parsers

    add_parsers(sub)  # audit, compare
    return parser


def _configs(args):
    """The run config of a parsed command line: defaults, then ``--config FILE``, then the typed flags."""
    from probekit.cliargs import config_from_args

    config = config_from_args(args.config_class, args)
    if not config.progress:
        _silence_libraries()
    return config


def _load(model_config):
    from probekit.extract.distributed import rank_device
    from probekit.models import load_model

    m = model_config
    return load_model(m.name, weights=m.weights, dtype=m.dtype, device=rank_device(m.device),
                      device_map=m.device_map, trust_remote_code=m.trust_remote_code, padding_side=m.padding_side)


def cmd_probe(args) -> int:
    """``probekit probe``: run the main job, print the table, write the outputs.

    Parameters
    ----------
    args : argparse.Namespace
        The parsed command line (config options, ``--config``).

    Returns
    -------
    int
        Exit status 0.

    Raises
    ------
    ProbekitError
        Any bad input (config, model, data set, store); :func:`main` prints it and
        exits 2.
    """
    return _probe(_configs(args))


def _probe(config) -> int:
    from probekit.pipeline import run_probe

    rows = run_probe(config)
    from probekit.extract.distributed import is_main_process

    if not is_main_process():  # torchrun / accelerate launch: ranks other than 0 extract only
        return 0
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
    """``probekit extract``: write an activation store (and its config.json and run.json).

    Parameters
    ----------
    args : argparse.Namespace
        The parsed command line (config options, ``--shard i/N``).

    Returns
    -------
    int
        Exit status 0.

    Raises
    ------
    ProbekitError
        Any bad input (config, model, data set, shard, store).
    """
    return _extract(_configs(args), args.shard)


def _extract(config, shard_text: str | None) -> int:
    from probekit.concepts import load_concept_dataset
    from probekit.errors import ProbekitError
    from probekit.extract.distributed import distributed_env, extract_distributed, is_main_process
    from probekit.extract.runner import extract
    from probekit.models import expected_modality
    from probekit.pipeline import check_inputs, check_modality
    from probekit.devices import model_device
    from probekit.runs import now_utc, run_record, write_run_record
    from probekit.store.parts import parse_shard

    started = now_utc()
    if not config.out:
        raise ProbekitError("extract needs --out (the store folder), on the command line or as out = ... in --config")
    shard = parse_shard(shard_text) if shard_text is not None else None  # bad i/N fails before any loading
    if shard is not None and distributed_env() is not None:
        raise ProbekitError("--shard splits the data across separate jobs; under torchrun / accelerate launch "
                            "the ranks split it already: drop --shard")
    d, out, progress = config.dataset, config.out, config.progress
    dataset = load_concept_dataset(d.name, text_column=d.text_column, label_column=d.label_column,
                                   group_column=d.group_column, word_type_column=d.word_type_column,
                                   task=d.task, limit=d.limit, concept=d.concept, progress=progress)
    check_modality(dataset, expected_modality(config.model.name), config.model.name)
    loaded = _load(config.model)
    extraction = check_inputs(loaded, dataset, config.extraction)
    if distributed_env() is not None:  # torchrun / accelerate launch: every rank a slice, rank 0 merges
        store, points = extract_distributed(loaded, dataset, extraction, out, overwrite=config.overwrite,
                                            progress=progress)
        if not is_main_process():
            return 0
    else:
        store, points = extract(loaded, dataset, extraction, out, overwrite=config.overwrite,
                                progress=progress, shard=shard)
    saved = config.to_dict()
    saved["extraction"]["max_length"] = extraction.max_length
    (Path(out) / "config.json").write_text(json.dumps(saved, indent=2, default=str))
    record = run_record(config, "extract", started, device=str(model_device(loaded.model)), extra={"shard": shard_text})
    write_run_record(Path(out) / "run.json", record)
    print(f"wrote {store.n_samples} rows x {len(points)} hook points to {out}")
    return 0


def cmd_rerun(args) -> int:
    """``probekit rerun DIR``: repeat a probe or extract run from its record, into DIR or ``--out``.

    Parameters
    ----------
    args : argparse.Namespace
        ``directory``, ``rerun_out`` and the typed options (``--quiet``).

    Returns
    -------
    int
        The repeated command's exit status.

    Raises
    ------
    ProbekitError
        No readable run record in ``directory``, a command that cannot be rerun, or any
        error of the repeated run.
    """
    from probekit import __version__
    from probekit.cliargs import given_options
    from probekit.errors import ProbekitError
    from probekit.runs import git_commit, read_run_record

    record = read_run_record(args.directory)
    rerun = RERUNS.get(record["command"])
    if rerun is None:
        raise ProbekitError(f"cannot rerun a {record['command']!r} run; rerun repeats {', '.join(RERUNS)} runs")
    quiet = given_options(args).get("progress") is False
    if quiet:
        _silence_libraries()
    commit = git_commit()[0]
    if record.get("probekit") != __version__ or (record.get("git_commit") and commit != record["git_commit"]):
        print(f"note: the run was recorded with probekit {record.get('probekit')} (commit "
              f"{record.get('git_commit')}); this is probekit {__version__} (commit {commit})", file=sys.stderr)
    return rerun(record, args.rerun_out or args.directory, quiet)


def _recorded_config(record: dict, out: str, quiet: bool):
    """The :class:`~probekit.config.RunConfig` of a run record, writing into ``out``."""
    from dataclasses import replace

    from probekit.config import RunConfig

    config = RunConfig.from_dict(record["config"])
    config = replace(config, out=str(out), progress=config.progress and not quiet)
    if not config.progress:
        _silence_libraries()
    return config


#: ``{command: function(record, out, quiet) -> exit status}``: how ``probekit rerun`` repeats each
#: kind of run from its record (see :mod:`probekit.runs`) into folder ``out``.
RERUNS = {"probe": lambda record, out, quiet: _probe(_recorded_config(record, out, quiet)),
          "extract": lambda record, out, quiet: _extract(_recorded_config(record, out, quiet), record.get("shard"))}


def cmd_list_modules(args) -> int:
    """``probekit list-modules``: hook points and modules with output shapes.

    Parameters
    ----------
    args : argparse.Namespace
        The model options and ``all``.

    Returns
    -------
    int
        Exit status 0.

    Raises
    ------
    ProbekitError
        A model that cannot be loaded or has no sample input.
    """
    from probekit.extract.inspect import describe_modules

    loaded = _load(_configs(args).model)
    for line in describe_modules(loaded, all_modules=args.all):
        print(line)
    return 0


def cmd_predict(args) -> int:
    """``probekit predict``: top-k classes per image (and accuracy for ImageNet names).

    Parameters
    ----------
    args : argparse.Namespace
        The model options, ``images`` and ``top_k``.

    Returns
    -------
    int
        Exit status 0.

    Raises
    ------
    ProbekitError
        As :func:`probekit.models.predict.predict_folder_report`, or a model that cannot
        be loaded.
    """
    from probekit.models.predict import predict_folder_report

    loaded = _load(_configs(args).model)
    for line in predict_folder_report(loaded, args.images, top_k=args.top_k):
        print(line)
    return 0


def cmd_store(args) -> int:
    """``probekit store verify DIR`` / ``probekit store merge OUT PART...``.

    ``verify`` prints each shard's state; ``merge`` joins partial stores (and copies the
    first part's ``config.json``).

    Parameters
    ----------
    args : argparse.Namespace
        ``store_command`` and its arguments (``directory``; or ``out``, ``parts``,
        ``overwrite``).

    Returns
    -------
    int
        Exit status 0.

    Raises
    ------
    ProbekitError
        A damaged store (verify), or parts that do not fit together (merge); the CLI
        exits 2.
    """
    from probekit.store import merge_stores, verify_store

    _configs(args)  # --quiet

    if args.store_command == "merge":
        store = merge_stores(args.out, args.parts, overwrite=args.overwrite)
        config = Path(args.parts[0]) / "config.json"  # what `probekit extract` wrote next to each part
        if config.is_file():
            (Path(args.out) / "config.json").write_bytes(config.read_bytes())
        print(f"merged {len(args.parts)} parts into {args.out}: {store.manifest['n_examples']} examples, "
              f"{store.n_samples} rows")
        return 0

    report = verify_store(args.directory)
    for line in report.lines():
        print(line)
    report.raise_if_damaged()
    return 0


def _silence_libraries() -> None:
    """No progress bars or load reports from transformers / huggingface_hub / datasets in quiet mode."""
    import os

    import huggingface_hub.utils
    import transformers

    transformers.utils.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    huggingface_hub.utils.disable_progress_bars()
    os.environ["HF_DATASETS_DISABLE_PROGRESS_BARS"] = "1"  # read when datasets is imported
    if "datasets" in sys.modules:
        sys.modules["datasets"].disable_progress_bars()


def cmd_check(args) -> int:
    """``probekit check``: print the self-check table; exit 2 naming a failed check.

    Parameters
    ----------
    args : argparse.Namespace
        The model options and ``json`` (a path for the report, or ``None``).

    Returns
    -------
    int
        Exit status 0 when every check passed.

    Raises
    ------
    ProbekitError
        A failed check (named), or a model that cannot be loaded.
    """
    from probekit.check import check_model

    report = check_model(_load(_configs(args).model))
    print(report.table())
    if args.json:
        Path(args.json).write_text(json.dumps(report.to_dict(), indent=2))
    report.raise_if_failed()
    return 0


def cmd_audit(args) -> int:
    """``probekit audit``: see :func:`probekit.audit._cli.cmd_audit` (imported only when used).

    Parameters
    ----------
    args : argparse.Namespace
        The parsed command line.

    Returns
    -------
    int
        Exit status 0.
    """
    from probekit.audit._cli import cmd_audit as run

    return run(args)


def cmd_compare(args) -> int:
    """``probekit compare``: see :func:`probekit.audit._cli.cmd_compare` (imported only when used).

    Parameters
    ----------
    args : argparse.Namespace
        The parsed command line.

    Returns
    -------
    int
        Exit status 0.
    """
    from probekit.audit._cli import cmd_compare as run

    return run(args)


COMMANDS = {"probe": cmd_probe, "extract": cmd_extract, "list-modules": cmd_list_modules,
            "predict": cmd_predict, "check": cmd_check, "store": cmd_store, "rerun": cmd_rerun,
            "audit": cmd_audit, "compare": cmd_compare}


def _run(args) -> int:
    """Run the sub-command; a library's split error on too little data becomes a :class:`ProbekitError`."""
    from probekit.errors import ProbekitError

    try:
        return COMMANDS[args.command](args)
    except ValueError as exc:
        if isinstance(exc, ProbekitError) or not _raised_in(exc, "sklearn.model_selection"):
            raise
        reason = str(exc).rstrip(".")
        raise ProbekitError(f"cannot split the data into cross-validation folds ({reason}); lower --n-splits or "
                            "give more examples (and groups) of each class") from None


def _raised_in(exc: BaseException, package: str) -> bool:
    """Whether the innermost frame of ``exc``'s traceback is in ``package``."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    return tb is not None and tb.tb_frame.f_globals.get("__name__", "").startswith(package)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``probekit`` command; returns the exit status.

    Parameters
    ----------
    argv : list of str, optional
        The arguments after ``probekit`` (default ``sys.argv[1:]``).

    Returns
    -------
    int
        0 on success, 2 for a :class:`ProbekitError` (printed as one ``error: ...``
        line), 130 when interrupted. ``argparse`` exits by itself (status 2) on a
        malformed command line.
    """
    from probekit.cliargs import PREFIX

    args = build_parser().parse_args(argv)
    if getattr(args, PREFIX + "progress", True) is False:
        _silence_libraries()
    try:
        return run_command(lambda: _run(args))
    except KeyboardInterrupt:
        print("interrupted; an unfinished activation store resumes when the same command runs again",
              file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
