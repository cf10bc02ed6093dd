"""Recipe budgets: one ``--budget {tiny,cpu,reference}`` flag with the same meaning in every recipe.

``tiny``
    Seconds; what the tests run.
``cpu`` (the default)
    Sized for the 2 shared CPU cores of the development machines.
``reference``
    The source's own set-up (paper or released code, cited beside each preset), sized for a GPU.

``--tiny`` is kept as an alias of ``--budget tiny``. A preset fills every option the user did
not give; an option given on the command line always wins over the preset.
"""

from __future__ import annotations

import argparse

from probekit.errors import ProbekitError

__all__ = ["BUDGETS", "DEFAULT_BUDGET", "add_budget_arguments", "apply_overrides", "budget_record", "resolve_budget"]

#: The budget names, smallest first.
BUDGETS = ("tiny", "cpu", "reference")
DEFAULT_BUDGET = "cpu"


def add_budget_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--budget {tiny,cpu,reference}`` and ``--tiny`` (= ``--budget tiny``), mutually exclusive.

    Both store into ``args.budget`` (``None`` when neither is given; :func:`resolve_budget`
    turns that into :data:`DEFAULT_BUDGET`). An unknown name is refused by argparse (exit 2,
    ``invalid choice: ... (choose from 'tiny', 'cpu', 'reference')``).

    Parameters
    ----------
    parser : argparse.ArgumentParser
        The recipe's parser (or sub-command parser); the two options are added to it.
    """
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--budget", choices=BUDGETS, default=None,
                      help="tiny: seconds (tests); cpu (default): sized for 2 CPU cores; reference: the source's "
                           "set-up (for a GPU). Options given explicitly override the preset")
    size.add_argument("--tiny", action="store_const", const="tiny", dest="budget", help="= --budget tiny")


def apply_overrides(preset: dict, args: argparse.Namespace, keys=None) -> tuple[dict, list[str]]:
    """A preset with every option that ``args`` gives explicitly in its place (the one rule of every recipe).

    Parameters
    ----------
    preset : dict
        ``{option name (args attribute): value}``; not modified (the result is a shallow copy).
    args : argparse.Namespace
        Parsed arguments; an option that was not given is ``None`` (or absent).
    keys : iterable of str, optional
        The options that may override (default: the preset's keys). A key the preset lacks
        is added when given.

    Returns
    -------
    (settings, given)
        The merged settings, and the keys taken from ``args``, in ``keys`` order.
    """
    settings = dict(preset)
    given = [key for key in (preset if keys is None else keys) if getattr(args, key, None) is not None]
    settings.update({key: getattr(args, key) for key in given})
    return settings, given


def resolve_budget(args: argparse.Namespace, presets: dict[str, dict]) -> dict:
    """Fill ``args`` from the preset of ``args.budget``, keeping every explicitly given option.

    Parameters
    ----------
    args : argparse.Namespace
        Parsed arguments; an option that was not given must be ``None`` (its parser default).
        ``args.budget`` is a name of :data:`BUDGETS` or ``None`` (= :data:`DEFAULT_BUDGET`).
    presets : dict of str -> dict
        ``budget name -> {option name (args attribute): value}``; every preset must have the
        same keys. A key with no command-line option is fixed by the preset (set on ``args``).

    Returns
    -------
    dict
        The settings used (preset overridden by the given options), also set on ``args`` and
        stored as ``args.budget_settings``; ``args.budget`` becomes the name.

    Raises
    ------
    ProbekitError
        ``args.budget`` is not a preset name.
    """
    name = args.budget or DEFAULT_BUDGET
    if name not in presets:
        raise ProbekitError(f"--budget {name!r} is not a budget; valid: {', '.join(presets)}")
    settings, given = apply_overrides(presets[name], args)
    for key, value in settings.items():
        if key not in given and isinstance(value, (list, tuple)):
            settings[key] = list(value)  # a copy: nothing done to args changes the preset
        setattr(args, key, settings[key])
    args.budget = name
    args.budget_settings = dict(settings)
    return settings


def budget_record(args: argparse.Namespace) -> dict:
    """``{"budget": name, "budget_settings": {...}}`` for a run's JSON (after :func:`resolve_budget`).

    Parameters
    ----------
    args : argparse.Namespace
        Arguments that :func:`resolve_budget` has filled (``budget`` and ``budget_settings``).

    Returns
    -------
    dict
    """
    return {"budget": args.budget, "budget_settings": dict(args.budget_settings)}
