"""The paper's PH figures, for any layer metric, each written as PNG and PDF with its CSV beside it.

- Figure 5: a model's within-model heatmap, mean over the batches, with the
  coefficient of variation (CV) of every entry.
- Figure 6: the specificity test for two models: A's within-model heatmap beside
  the A-vs-B cross heatmap (one colour scale), and row i of both as lines.
- Figure 7: the sensitivity test: distance against the fraction of principal
  components deleted, one panel per layer, the baseline as a horizontal line.
- Comparison: specificity (with intervals) and sensitivity of every (metric, representation)
  side by side; the untrained control beside the trained models, and their paired difference.
- Seeds needed: the width of the model-level interval against the number of models used.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from cnntopo.entrypoint import run_step
from cnntopo.io import read_table, write_table
from cnntopo.ph.layer_distances import PAPER_CV_BOUND
from cnntopo.ph.statistics import row_correlations
from cnntopo.plotting import add_figure_outputs, save_figure, use_file_backend


def _layer_axis(ax, axis: str, count: int, names: Sequence[str] | None) -> None:
    """Ticks and label of a layer axis (``"x"`` layer j, ``"y"`` layer i): every other Conv2d index for the
    project's models, every feature node by name for a user's (``names``)."""
    ticks = np.arange(count)
    letter = "j" if axis == "x" else "i"
    if names is None:
        getattr(ax, f"set_{axis}ticks")(ticks[::2])
        getattr(ax, f"set_{axis}label")(f"layer {letter} (Conv2d index)")
    else:
        getattr(ax, f"set_{axis}ticks")(ticks, names, fontsize=7, rotation=90 if axis == "x" else 0)
        getattr(ax, f"set_{axis}label")(f"layer {letter} (feature node)")


def _named(layer: int, names: Sequence[str] | None) -> str:
    return f"layer {layer}" if names is None else f"layer {layer} ({names[layer]})"


def _name_columns(rows: list[dict], names: Sequence[str] | None, *keys: str) -> list[dict]:
    """``rows`` with a ``<key>_name`` column beside each layer index ``key`` when the layers have names."""
    if names is None:
        return rows
    return [{**row, **{f"{key}_name": names[int(row[key])] for key in keys}} for row in rows]


def _heatmap(
    ax,
    matrix: np.ndarray,
    title: str,
    vmin: float,
    vmax: float,
    label: str,
    cmap: str = "viridis",
    names: Sequence[str] | None = None,
):
    image = ax.imshow(matrix, cmap=cmap, vmin=vmin, vmax=vmax, origin="upper")
    _layer_axis(ax, "x", matrix.shape[0], names)
    _layer_axis(ax, "y", matrix.shape[0], names)
    ax.set_title(title, fontsize=9)
    plt.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label=label)


def figure_within_heatmap(within: Path, out: Path, table: Path, names: Sequence[str] | None = None) -> None:
    """Figure 5 from one within-model ``.npz`` (keys ``mean``, ``cv``, ``per_batch``, ``seed``, ``label``);
    ``names``: the layers' feature nodes (a user's models), shown instead of Conv2d indices.

    The CV is std / mean over the batches with the population std (ddof 0); entries above the
    paper's bound are marked with a white dot.
    """
    with np.load(within) as data:
        mean, cv, seed, batches = data["mean"], data["cv"], int(data["seed"]), data["per_batch"].shape[0]
        metric_label = str(data["label"])
    off_diagonal = ~np.eye(len(mean), dtype=bool)
    above = (cv > PAPER_CV_BOUND) & off_diagonal
    verdict = (
        f"all {off_diagonal.sum()} entries below the paper's {PAPER_CV_BOUND}"
        if not above.any()
        else f"{above.sum()} of {off_diagonal.sum()} entries above the paper's {PAPER_CV_BOUND} (dots)"
    )
    fig, (ax_mean, ax_cv) = plt.subplots(1, 2, figsize=(10, 4.8), constrained_layout=True)
    _heatmap(ax_mean, mean, f"Mean over {batches} batches of N images", 0, mean.max(), metric_label, names=names)
    _heatmap(
        ax_cv,
        cv,
        f"Coefficient of variation over the batches (std ddof 0 / mean)\nmax {cv[off_diagonal].max():.3f}: {verdict}",
        0,
        max(cv.max(), PAPER_CV_BOUND, 1e-12),
        "CV",
        cmap="magma",
        names=names,
    )
    rows, cols = np.nonzero(above)
    ax_cv.plot(cols, rows, "o", color="white", ms=3, mec="black", mew=0.5)
    fig.suptitle(
        f"Figure 5: distances between the layers of model seed {seed} ({metric_label}); dark = similar layers.\n"
        "The paper finds a grid that follows the residual stages, with CV < 0.17 at N = 1000",
        fontsize=10,
    )
    save_figure(fig, out)
    n = len(mean)
    rows = [{"layer_i": i, "layer_j": j, "mean": mean[i, j], "cv_ddof0": cv[i, j]} for i in range(n) for j in range(n)]
    write_table(table, _name_columns(rows, names, "layer_i", "layer_j"))


def _interval(row: dict, name: str) -> str:
    return f"{row[name]:.3f} [{row[name + '_ci_low']:.3f}, {row[name + '_ci_high']:.3f}]"


def figure_specificity_heatmaps(
    within: Path,
    cross: Path,
    other: int,
    layer: int,
    summary: Path,
    out: Path,
    table: Path,
    names: Sequence[str] | None = None,
) -> None:
    """Figure 6 from A's within-model ``.npz`` and A's cross-model ``.npz`` (model ``other`` as B); the
    specificity ``summary`` of all pairs gives the means and their 95 % intervals in the title; ``names``:
    the layers' feature nodes (a user's models)."""
    with np.load(within) as data:
        w, seed, metric_label = data["mean"], int(data["seed"]), str(data["label"])
    with np.load(cross) as data:
        others = data["others"].tolist()
        if other not in others:
            raise ValueError(f"{cross} has no cross matrix against seed {other}; it has {others}")
        c = data["mean"][others.index(other)]
    rho = row_correlations(w, c)
    vmax = max(w.max(), c.max())
    fig, axes = plt.subplots(1, 3, figsize=(14.5, 4.5), constrained_layout=True)
    fig.get_layout_engine().set(w_pad=0.12, wspace=0.06)  # room between a colour bar's label and the next panel
    _heatmap(axes[0], w, f"Model A (seed {seed}) vs itself", 0, vmax, metric_label, names=names)
    _heatmap(axes[1], c, f"Model A (seed {seed}) vs model B (seed {other})", 0, vmax, metric_label, names=names)
    layers = np.arange(len(w))
    axes[2].plot(layers, w[layer], "o-", label=f"A vs A: row {layer}")
    axes[2].plot(layers, c[layer], "s--", label=f"A vs B: row {layer}")
    _layer_axis(axes[2], "x", len(w), names)
    axes[2].set(ylabel=metric_label, title=f"Row {layer} of both matrices: Pearson rho = {rho[layer]:.3f}")
    axes[2].title.set_fontsize(9)
    axes[2].legend(fontsize=8)
    overall = read_table(summary)[0]
    fig.suptitle(
        "Figure 6: specificity test. Near-identical heatmaps mean the distances reflect the architecture, not the "
        f"initialisation.\nOver all {overall['pairs']} pairs of {overall['models']} models (95 % intervals, models "
        f"resampled): rho at {_named(layer, names)} "
        f"{_interval(overall, 'rho_layer')}, over all layers {_interval(overall, 'rho_overall')}; "
        f"permutation p = {overall['p_value']:.3g}",
        fontsize=10,
    )
    save_figure(fig, out)
    n = len(w)
    rows = [
        {"layer_i": i, "layer_j": j, "within_A": w[i, j], "cross_A_B": c[i, j], "rho_row_i": rho[i]}
        for i in range(n)
        for j in range(n)
    ]
    write_table(table, _name_columns(rows, names, "layer_i", "layer_j"))


def figure_sensitivity(
    curves: Path, metric_label: str, out: Path, table: Path, names: Sequence[str] | None = None
) -> None:
    """Figure 7 from a sensitivity curves CSV, copied beside the figure as its table (with the layers' feature
    nodes, ``names``, for a user's models)."""
    rows = read_table(curves)
    write_table(table, _name_columns(rows, names, "layer"))
    layers = sorted({r["layer"] for r in rows})
    fig, axes = plt.subplots(1, len(layers), figsize=(4.2 * len(layers), 3.6), squeeze=False, constrained_layout=True)
    for ax, layer in zip(axes[0], layers):
        mine = [r for r in rows if r["layer"] == layer]
        fraction = [r["fraction_deleted"] for r in mine]
        baseline = mine[0]["baseline"]
        ax.plot(fraction, [r["distance"] for r in mine], "o-", ms=3, label="original vs reduced")
        ax.axhline(baseline, color="crimson", ls="--", label="baseline: same layer, other models")
        detectable = [f for f, r in zip(fraction, mine) if r["detectable"]]
        verdict = f"first detectable at {min(detectable):.2f}" if detectable else "no deletion detectable"
        ax.set(
            xlabel="fraction of principal components deleted (k / c)",
            ylabel=metric_label,
            title=f"{_named(layer, names)} (c = {mine[0]['channels']}): {verdict}",
            xlim=(0, 1),
        )
        ax.title.set_fontsize(9)
    axes[0][0].legend(fontsize=7)
    fig.suptitle(f"Figure 7: sensitivity of {metric_label} to deleting the lowest principal components", fontsize=10)
    save_figure(fig, out)


def _measures(summaries: Sequence[Path]) -> dict[tuple[str, str], list[dict]]:
    """Rows of summary CSVs grouped by (metric, representation), in the order given."""
    grouped: dict[tuple[str, str], list[dict]] = {}
    for path in summaries:
        for row in read_table(path):
            grouped.setdefault((row["metric"], row["representation"]), []).append(row)
    return grouped


def comparison(
    specificity_summaries: Sequence[Path], sensitivity_summaries: Sequence[Path], out: Path, table: Path
) -> None:
    """(metric, representation) x (specificity rho with intervals, first detectable deletion per layer).

    Summaries are joined on (metric, representation), in the order of ``specificity_summaries``. A first
    detectable fraction is NaN where no deletion exceeded the threshold or where none was made (c <= step).
    """
    sensitivity = _measures(sensitivity_summaries)
    rows, deletions = [], {}
    for key, (spec,) in _measures(specificity_summaries).items():
        if key not in sensitivity:
            raise ValueError(f"no sensitivity summary of {key} was given")
        row = {
            "metric": key[0],
            "representation": key[1],
            "layer_of_interest": spec["layer_of_interest"],
            **{name: spec[name] for name in SPECIFICITY_COLUMNS},
        }
        for r in sensitivity[key]:
            row[f"first_detectable_layer_{r['layer']}"] = r["first_detectable_fraction"]
            row[f"first_detectable_beyond_every_model_layer_{r['layer']}"] = r["first_detectable_beyond_every_model"]
            deletions[key, r["layer"]] = r["deletions"]
        rows.append(row)
    write_table(table, rows)

    names = [f"{r['metric']}\n{r['representation']}" for r in rows]
    layers = [r["layer"] for r in sensitivity[rows[0]["metric"], rows[0]["representation"]]]
    fig, (ax_spec, ax_sens) = plt.subplots(2, 1, figsize=(max(8, 1.3 * len(rows)), 8.4), constrained_layout=True)
    x = np.arange(len(rows))
    for shift, name, label in (
        (-0.2, "rho_layer", f"layer {rows[0]['layer_of_interest']}"),
        (0.2, "rho_overall", "all layers"),
    ):
        values = np.array([r[name] for r in rows])
        errors = np.array([[v - r[f"{name}_ci_low"], r[f"{name}_ci_high"] - v] for v, r in zip(values, rows)]).T
        ax_spec.bar(x + shift, values, 0.4, yerr=errors, capsize=3, label=label)
    ax_spec.set(
        xticks=x,
        xticklabels=names,
        ylabel="mean Pearson rho over model pairs",
        ylim=(min(0, min(r["rho_layer_ci_low"] for r in rows) - 0.05), 1.2),  # headroom for the legend
        title="Specificity (higher: less dependent on the seed)\nbars: 95 % intervals, models and batches resampled",
    )
    ax_spec.title.set_fontsize(9)
    ax_spec.legend(fontsize=8, ncol=2, loc="upper center")
    width = 0.8 / len(layers)
    for i, layer in enumerate(layers):
        values = [r[f"first_detectable_layer_{layer}"] for r in rows]
        undetected = [
            np.isnan(v) and deletions[(r["metric"], r["representation"]), layer] > 0 for r, v in zip(rows, values)
        ]
        heights = [1.0 if none else 0.0 if np.isnan(v) else v for v, none in zip(values, undetected)]
        bars = ax_sens.bar(x + (i - (len(layers) - 1) / 2) * width, heights, width, label=f"layer {layer}")
        for bar, none in zip(bars, undetected):
            if none:
                bar.set_hatch("//")
                bar.set_alpha(0.4)
    ax_sens.set(
        xticks=x,
        xticklabels=names,
        ylabel="first detectable fraction of PCs deleted",
        ylim=(0, 1.2),
        title="Sensitivity (lower: detects smaller deletions)\nhatched: no deletion detected; absent: c <= step",
    )
    ax_sens.title.set_fontsize(9)
    ax_sens.legend(fontsize=8, ncol=len(layers), loc="upper center")
    fig.suptitle(
        "Topology (SW) beside CKA and Procrustes, per point-cloud representation (this project's result)", fontsize=10
    )
    save_figure(fig, out)


SPECIFICITY_COLUMNS = (
    "rho_layer",
    "rho_layer_ci_low",
    "rho_layer_ci_high",
    "rho_overall",
    "rho_overall_ci_low",
    "rho_overall_ci_high",
    "ci_method",
    "rho_layer_pair_ci_low",
    "rho_layer_pair_ci_high",
    "rho_overall_pair_ci_low",
    "rho_overall_pair_ci_high",
    "rho_overall_offdiag",
    "spearman_overall",
    "p_value",
    "pairs",
    "models",
    "batches",
)


def control_comparison(
    trained: Sequence[Path],
    untrained: Sequence[Path],
    trained_sensitivity: Sequence[Path],
    untrained_sensitivity: Sequence[Path],
    out: Path,
    table: Path,
    sensitivity_table: Path,
) -> None:
    """Specificity (with intervals) and sensitivity of trained models beside untrained ones of the same
    architecture, per (metric, representation): how much of the result is architecture alone."""
    rows = []
    for models, paths in (("trained", trained), ("untrained", untrained)):
        for (metric, representation), (spec,) in _measures(paths).items():
            rows.append(
                {
                    "metric": metric,
                    "representation": representation,
                    "models_are": models,
                    **{name: spec[name] for name in SPECIFICITY_COLUMNS},
                }
            )
    write_table(table, rows)
    sensitivity = [
        {"models_are": models, **r}
        for models, paths in (("trained", trained_sensitivity), ("untrained", untrained_sensitivity))
        for group in _measures(paths).values()
        for r in group
    ]
    write_table(sensitivity_table, sensitivity)
    keys = list(dict.fromkeys((r["metric"], r["representation"]) for r in rows))
    fig, axes = plt.subplots(2, 1, figsize=(max(8, 1.3 * len(keys)), 8.4), constrained_layout=True)
    x = np.arange(len(keys))
    for ax, name, what in (
        (axes[0], "rho_overall", "over all layers"),
        (axes[1], "rho_overall_offdiag", "diagonal excluded"),
    ):
        for shift, models in ((-0.2, "trained"), (0.2, "untrained")):
            mine = {(r["metric"], r["representation"]): r for r in rows if r["models_are"] == models}
            values = np.array([mine[k][name] for k in keys])
            if name == "rho_overall":
                errors = np.array(
                    [[v - mine[k][f"{name}_ci_low"], mine[k][f"{name}_ci_high"] - v] for v, k in zip(values, keys)]
                ).T
            else:
                errors = None
            ax.bar(x + shift, values, 0.4, yerr=errors, capsize=3, label=f"{models} models")
        ax.set(
            xticks=x,
            xticklabels=[f"{m}\n{r}" for m, r in keys],
            ylabel="mean Pearson rho over model pairs",
            title=f"Specificity {what}"
            + ("\nbars: 95 % intervals, models and batches resampled" if errors is not None else "\n "),
        )
        ax.set_ylim(top=1.2)  # headroom for the legend
        ax.title.set_fontsize(9)
        ax.axhline(0, color="black", lw=0.5)
        ax.legend(fontsize=8, ncol=2, loc="upper center")
    fig.suptitle(
        "Untrained control: the same specificity test on randomly initialised models of the architecture", fontsize=10
    )
    save_figure(fig, out)


def _concatenated(tables: Sequence[Path], out: Path) -> list[dict]:
    rows = [row for path in tables for row in read_table(path)]
    write_table(out, rows)
    return rows


def figure_seeds_needed(tables: Sequence[Path], out: Path, table: Path) -> None:
    """Width of the model-level 95 % interval of rho against the number of models k, one line per
    representation, at the layer of interest and over all layers; rho itself in a second row."""
    rows = _concatenated(tables, table)
    representations = list(dict.fromkeys(r["representation"] for r in rows))
    fig, axes = plt.subplots(2, 2, figsize=(10, 7), constrained_layout=True, sharex=True)
    for col, (name, what) in enumerate(
        (("rho_layer", f"layer {rows[0]['layer_of_interest']}"), ("rho_overall", "all layers"))
    ):
        for representation in representations:
            mine = sorted((r for r in rows if r["representation"] == representation), key=lambda r: r["models"])
            k = [r["models"] for r in mine]
            axes[0][col].plot(k, [r[f"{name}_ci_high"] - r[f"{name}_ci_low"] for r in mine], "o-", label=representation)
            axes[1][col].plot(k, [r[name] for r in mine], "o-", label=representation)
            axes[1][col].fill_between(
                k, [r[f"{name}_ci_low"] for r in mine], [r[f"{name}_ci_high"] for r in mine], alpha=0.2
            )
        axes[0][col].set(ylabel="width of the 95 % interval", title=f"rho {what}: interval width")
        axes[1][col].set(xlabel="models used (k)", ylabel="mean Pearson rho", title=f"rho {what}, with its interval")
        axes[0][col].legend(fontsize=8)
    for ax in axes.flat:
        ax.title.set_fontsize(9)
        ax.xaxis.get_major_locator().set_params(integer=True)
    fig.suptitle(
        f"Seeds needed: {rows[0]['metric']} specificity on k of the run's models (mean over up to "
        f"{max(r['subsets'] for r in rows)} subsets per k; intervals resample the models and batches)",
        fontsize=10,
    )
    save_figure(fig, out)


def figure_difference(tables: Sequence[Path], out: Path, table: Path) -> None:
    """Trained minus untrained specificity per (metric, representation) with its model-level 95 % interval,
    at the layer of interest and over all layers, each row's conclusion written beside it."""
    rows = _concatenated(tables, table)
    keys = list(dict.fromkeys((r["metric"], r["representation"]) for r in rows))
    scopes = (("layer_of_interest", f"layer {rows[0]['layer_of_interest']}"), ("all_layers", "all layers"))
    fig, axes = plt.subplots(1, 2, figsize=(13, 1.0 + 0.7 * len(keys)), constrained_layout=True, sharey=True)
    y = np.arange(len(keys))[::-1]
    for ax, (scope, what) in zip(axes, scopes):
        mine = {(r["metric"], r["representation"]): r for r in rows if r["scope"] == scope}
        for yi, key in zip(y, keys):
            r = mine[key]
            excludes = r["ci_low"] > 0 or r["ci_high"] < 0
            ax.errorbar(
                r["difference"],
                yi,
                xerr=[[r["difference"] - r["ci_low"]], [r["ci_high"] - r["difference"]]],
                fmt="o",
                mfc="black" if excludes else "white",
                color="black",
                capsize=3,
            )
            ax.annotate(
                "excludes 0" if excludes else "contains 0",
                (r["ci_high"], yi),
                xytext=(4, 4),
                textcoords="offset points",
                fontsize=7,
            )
        ax.axvline(0, color="grey", lw=0.8)
        ax.margins(x=0.2)  # room for the words beside the widest interval
        ax.set(xlabel="rho trained - rho untrained", title=f"{what}")
        ax.title.set_fontsize(9)
    axes[0].set(yticks=y, yticklabels=[f"{m}, {r}" for m, r in keys])
    models = rows[0]["models"]
    fig.suptitle(
        f"Does training change specificity? Trained minus untrained, paired by seed ({models} models; 95 % intervals "
        "resample the models and batches).\nFilled: the interval excludes 0. Open: it contains 0, and the run cannot "
        "say that training changes specificity.",
        fontsize=9,
    )
    save_figure(fig, out)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m cnntopo.ph.figures", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    fig5 = sub.add_parser("within-heatmap", help="Figure 5")
    fig5.add_argument("--within", type=Path, required=True)
    fig6 = sub.add_parser("specificity-heatmaps", help="Figure 6")
    fig6.add_argument("--within", type=Path, required=True, help="model A's within-model matrices")
    fig6.add_argument("--cross", type=Path, required=True, help="model A's cross-model matrices")
    fig6.add_argument("--other", type=int, required=True, help="seed of model B")
    fig6.add_argument("--layer", type=int, default=9, help="layer whose rows are plotted")
    fig6.add_argument("--summary", type=Path, required=True, help="the specificity summary of all pairs (.csv)")
    fig7 = sub.add_parser("sensitivity", help="Figure 7 (its numbers: the curves CSV)")
    fig7.add_argument("--curves", type=Path, required=True)
    fig7.add_argument("--label", required=True, help="the metric, as the y axis names it")
    compare = sub.add_parser("comparison", help="specificity and sensitivity of every metric")
    compare.add_argument("--specificity", type=Path, nargs="+", required=True, help="specificity summaries (.csv)")
    compare.add_argument("--sensitivity", type=Path, nargs="+", required=True, help="sensitivity summaries")
    control = sub.add_parser("control", help="trained beside untrained models")
    control.add_argument("--trained", type=Path, nargs="+", required=True, help="specificity summaries, trained")
    control.add_argument("--untrained", type=Path, nargs="+", required=True, help="specificity summaries, untrained")
    control.add_argument("--trained-sensitivity", type=Path, nargs="+", required=True)
    control.add_argument("--untrained-sensitivity", type=Path, nargs="+", required=True)
    control.add_argument("--sensitivity-table", type=Path, required=True, help="output: both sensitivities (.csv)")
    needed = sub.add_parser("seeds-needed", help="interval width against the number of models")
    needed.add_argument("--tables", type=Path, nargs="+", required=True, help="seeds_needed tables (.csv)")
    difference = sub.add_parser("difference", help="trained minus untrained specificity")
    difference.add_argument("--tables", type=Path, nargs="+", required=True, help="difference tables (.csv)")
    for command in (fig5, fig6, fig7):
        command.add_argument("--layer-names", nargs="+", help="the layers' feature nodes (a user's models)")
    add_figure_outputs(fig5, fig6, fig7, compare, control, needed, difference)
    args = parser.parse_args(argv)
    use_file_backend()
    if args.command == "within-heatmap":
        figure_within_heatmap(args.within, args.out, args.table, args.layer_names)
    elif args.command == "specificity-heatmaps":
        figure_specificity_heatmaps(
            args.within, args.cross, args.other, args.layer, args.summary, args.out, args.table, args.layer_names
        )
    elif args.command == "sensitivity":
        figure_sensitivity(args.curves, args.label, args.out, args.table, args.layer_names)
    elif args.command == "comparison":
        comparison(args.specificity, args.sensitivity, args.out, args.table)
    elif args.command == "seeds-needed":
        figure_seeds_needed(args.tables, args.out, args.table)
    elif args.command == "difference":
        figure_difference(args.tables, args.out, args.table)
    else:
        control_comparison(
            args.trained,
            args.untrained,
            args.trained_sensitivity,
            args.untrained_sensitivity,
            args.out,
            args.table,
            args.sensitivity_table,
        )


if __name__ == "__main__":
    run_step(main)
