"""The ``audit`` and ``compare`` sub-commands (registered by :mod:`probekit.cli`)."""

from __future__ import annotations


def add_parsers(sub) -> None:
    """Add ``audit`` and ``compare`` to the ``probekit`` sub-command parsers ``sub``.

    Parameters
    ----------
    sub : argparse._SubParsersAction
        What ``ArgumentParser.add_subparsers`` returned.
    """
    au = sub.add_parser("audit", help="probe many models × data sets at every layer from a config file; "
                                      "write results.csv, transfer.csv, audit.json, PNGs and report.html",
                        description="Run an interpretability audit from a TOML (or YAML) config: every model "
                                    "(and its random-init baseline) × every data set, every hook point, a "
                                    "transfer matrix, one self-contained HTML report. Rerunning into the same "
                                    "--out resumes: finished stores and results are reused.")
    au.add_argument("--config", required=True, help="audit config (.toml, .yaml or .json) with [[models]] and "
                                                     "[[datasets]] tables")
    au.add_argument("--out", required=True, help="output folder (stores, results, report)")
    au.add_argument("--overwrite", action="store_true", help="replace stores of another configuration in --out")
    au.add_argument("--quiet", action="store_true", help="no progress bars")
    cp = sub.add_parser("compare", help="overlay the layer curves of several probe / audit runs in one plot + table")
    cp.add_argument("runs", nargs="+", help="output folders of `probekit probe` or `probekit audit` runs")
    cp.add_argument("--out", default="compare", help="folder for compare.png, compare.csv and compare.html (default: %(default)s)")
    cp.add_argument("--quiet", action="store_true", help="print nothing but errors")


def cmd_audit(args) -> int:
    """``probekit audit``: run the audit, print the best layer per model × variant × data set.

    Parameters
    ----------
    args : argparse.Namespace
        ``config``, ``out``, ``overwrite``, ``quiet``.

    Returns
    -------
    int
        Exit status 0.

    Raises
    ------
    ProbekitError
        A bad config (:func:`~probekit.audit.config.load_audit_config`) or any error of
        :func:`~probekit.audit.runner.run_audit`; the CLI prints it and exits 2.
    """
    from probekit.audit.config import load_audit_config
    from probekit.audit.runner import run_audit

    config = load_audit_config(args.config)
    argv = ["probekit", "audit", "--config", args.config, "--out", args.out]
    argv += ["--overwrite"] * args.overwrite + ["--quiet"] * args.quiet
    result = run_audit(config, args.out, overwrite=args.overwrite, progress=not args.quiet, argv=argv)
    best = {}
    for r in result.rows:
        key = (r["model"], r["variant"], r["dataset"])
        if key not in best or r["score"] > best[key]["score"]:
            best[key] = r
    print(f"{'model':<24} {'variant':<12} {'data set':<20} {'best hook point':<22} {'score':>7} {'select.':>8}")
    for (model, variant, dataset), r in best.items():
        print(f"{model[-24:]:<24} {variant:<12} {dataset[:20]:<20} {r['hook_point']:<22} {r['score']:>7.3f} "
              f"{r['selectivity']:>8.3f}")
    print(f"wrote {args.out}/report.html, results.csv, transfer.csv, audit.json")
    return 0


def cmd_compare(args) -> int:
    """``probekit compare``: one plot and table over several runs.

    Parameters
    ----------
    args : argparse.Namespace
        ``runs``, ``out``, ``quiet``.

    Returns
    -------
    int
        Exit status 0.

    Raises
    ------
    ProbekitError
        As :func:`~probekit.audit.compare.compare_runs` (e.g. a folder that is not a run).
    """
    from probekit.audit.compare import compare_runs

    summary = compare_runs(args.runs, args.out)
    if not args.quiet:
        for s in summary:
            print(f"{s['label']}: best {s['best_hook_point']} (layer {s['best_layer']}) {s['metric']} "
                  f"{s['best_score']:.3f}")
        print(f"wrote {args.out}/compare.png, compare.csv, compare.html")
    return 0
