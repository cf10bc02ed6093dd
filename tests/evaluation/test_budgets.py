import argparse

import pytest

from probekit.errors import ProbekitError
from probekit.evaluation.budgets import BUDGETS, add_budget_arguments, apply_overrides, budget_record, resolve_budget

PRESETS = {"tiny": {"steps": 2, "seeds": [0]}, "cpu": {"steps": 20, "seeds": [0, 1]},
           "reference": {"steps": 2000, "seeds": [0, 1, 2]}}


def _parser():
    p = argparse.ArgumentParser()
    add_budget_arguments(p)
    p.add_argument("--steps", type=int)
    p.add_argument("--seeds", nargs="+", type=int)
    return p


def test_default_is_cpu_and_explicit_options_win():
    args = _parser().parse_args([])
    assert resolve_budget(args, PRESETS) == {"steps": 20, "seeds": [0, 1]} and args.budget == "cpu"
    args = _parser().parse_args(["--budget", "reference", "--steps", "5"])
    resolve_budget(args, PRESETS)
    assert (args.steps, args.seeds, args.budget) == (5, [0, 1, 2], "reference")
    assert budget_record(args) == {"budget": "reference", "budget_settings": {"steps": 5, "seeds": [0, 1, 2]}}
    args.seeds.append(9)  # the preset's list is copied, not shared
    assert PRESETS["reference"]["seeds"] == [0, 1, 2]


def test_tiny_flag_is_budget_tiny_and_keys_without_an_option_are_set():
    a, b = (_parser().parse_args(f) for f in (["--tiny"], ["--budget", "tiny"]))
    assert vars(a) == vars(b)
    resolve_budget(a, {**PRESETS, "tiny": {**PRESETS["tiny"], "lr": 0.1}})
    assert a.lr == 0.1 and a.budget_settings["lr"] == 0.1


def test_bad_names_are_refused(capsys):
    assert BUDGETS == ("tiny", "cpu", "reference")
    with pytest.raises(SystemExit) as exc:
        _parser().parse_args(["--budget", "huge"])
    assert exc.value.code == 2 and "invalid choice: 'huge'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        _parser().parse_args(["--tiny", "--budget", "cpu"])
    args = _parser().parse_args(["--budget", "reference"])
    with pytest.raises(ProbekitError, match="not a budget; valid: tiny, cpu"):
        resolve_budget(args, {"tiny": PRESETS["tiny"], "cpu": PRESETS["cpu"]})


def test_apply_overrides_takes_the_given_options_only_and_leaves_the_preset_alone():
    args = _parser().parse_args(["--steps", "7"])
    preset = PRESETS["cpu"]
    settings, given = apply_overrides(preset, args)
    assert settings == {"steps": 7, "seeds": [0, 1]} and given == ["steps"]
    assert preset == {"steps": 20, "seeds": [0, 1]}  # not modified
    # explicit keys: only those may override, and a given key the preset lacks is added
    args = _parser().parse_args(["--steps", "7", "--seeds", "4"])
    args.epochs = 3
    settings, given = apply_overrides(preset, args, ("seeds", "epochs"))
    assert settings == {"steps": 20, "seeds": [4], "epochs": 3} and given == ["seeds", "epochs"]
