import csv

import matplotlib.collections

from probekit.report import plot_probe_scores, write_report, write_results_csv
from probekit.report.plots import draw_ci_band, draw_control_band, pyplot


def _rows():
    base = dict(variant="pretrained", metric="accuracy", score_std=0.02, n_train=80, n_test=20, control="shuffled labels",
                n_folds=2, n_seeds=1, n_controls=3)
    return [dict(base, hook_point=f"blocks.{i}.resid_post", layer=i, score=0.6 + 0.1 * i, selectivity=0.1 + 0.1 * i,
                 control_score=0.5, control_sd=0.03, control_scores=[0.47, 0.5, 0.53], p_value=0.25,
                 ci_low=0.55 + 0.1 * i, ci_high=0.65 + 0.1 * i, auroc=0.6 + 0.1 * i,
                 fold_scores=[0.58 + 0.1 * i, 0.62 + 0.1 * i], shuffled_score=0.5, control_task_score=None)
            for i in range(3)]


def test_csv_and_report_carry_the_statistics(tmp_path):
    rows = _rows()
    write_results_csv(rows, tmp_path / "r.csv")
    (first, *_) = list(csv.DictReader(open(tmp_path / "r.csv")))
    assert [float(v) for v in first["fold_scores"].split(";")] == [0.58, 0.62]
    assert float(first["ci_low"]) == 0.55 and float(first["p_value"]) == 0.25 and first["n_controls"] == "3"
    write_report(rows, {"model": "m", "dataset": "d"}, tmp_path / "report.md", {})
    text = (tmp_path / "report.md").read_text()
    assert "| 95% CI | control ± sd | p | AUROC |" in text
    assert "| `blocks.2.resid_post` | 2 | 0.800 | 0.020 | 0.300 | 0.750–0.850 | 0.500 ± 0.030 | 0.25 | 0.800 |" in text
    assert "K = 3 independent draws" in text and "bootstrap over groups" in text


def test_plot_shades_ci_and_control_bands(tmp_path):
    rows = _rows()
    fig, ax = pyplot().subplots()
    draw_ci_band(ax, [0, 1, 2], rows, "C0")
    draw_control_band(ax, [0, 1, 2], rows, "C1")
    bands = [c for c in ax.collections if isinstance(c, matplotlib.collections.PolyCollection)]
    assert len(bands) == 2
    low, high = bands[0].get_paths()[0].vertices[:, 1].min(), bands[0].get_paths()[0].vertices[:, 1].max()
    assert abs(low - 0.55) < 1e-9 and abs(high - 0.85) < 1e-9
    pyplot().close(fig)
    plot_probe_scores(rows, tmp_path / "p.png", "t", 0.5)
    assert (tmp_path / "p.png").stat().st_size > 10_000
