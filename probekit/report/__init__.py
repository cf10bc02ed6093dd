"""Tables, plots and Markdown reports."""

from probekit.report.html import (
    audit_report_html,
    baseline_table,
    best_layer_table,
    compare_report_html,
    data_uri,
    html_page,
    html_table,
    score_colour,
    transfer_tables,
)
from probekit.report.markdown import write_report
from probekit.report.plots import plot_probe_scores, pyplot
from probekit.report.tables import (RESULT_COLUMNS, format_mean_std, format_table, format_value, group_rows,
                                    mean_ci, mean_std, nan_to_none, summarize_runs, write_results_csv,
                                    write_results_json, write_rows_csv)
from probekit.report.recipe_figures import (ce_dsprites_figure, ce_imagenet_figure, ce_synthetic_figure,
                                            concept_recovery_figure, delay_embedding_figures,
                                            extrapolation_figure, low_degree_search_figure,
                                            steering_figure, world_model_recovery_figure)

__all__ = ["format_mean_std", "format_table", "format_value", "group_rows", "mean_ci", "mean_std", "nan_to_none", "summarize_runs",
           "write_report", "plot_probe_scores", "pyplot", "write_results_csv", "write_results_json",
           "write_rows_csv", "RESULT_COLUMNS", "audit_report_html", "compare_report_html", "data_uri", "html_page",
           "html_table", "score_colour", "best_layer_table", "baseline_table", "transfer_tables"]

__all__ += ["ce_dsprites_figure", "ce_imagenet_figure", "ce_synthetic_figure", "concept_recovery_figure",
            "delay_embedding_figures", "extrapolation_figure", "low_degree_search_figure",
            "steering_figure", "world_model_recovery_figure"]

from probekit.report.ce_summary import (BUDGET_KEYS, CE_METRICS, FINAL_KEYS, TABLE_HEADER,  # noqa: E402
                                        budget_label, ce_run_record, ce_synthetic_table, format_mean_ci,
                                        load_ce_runs, summarize_ce_runs)
from probekit.report.recipe_figures import ce_curve_figure  # noqa: E402

__all__ += ["BUDGET_KEYS", "CE_METRICS", "FINAL_KEYS", "TABLE_HEADER", "budget_label", "ce_run_record",
            "ce_synthetic_table", "format_mean_ci", "load_ce_runs", "summarize_ce_runs", "ce_curve_figure"]
