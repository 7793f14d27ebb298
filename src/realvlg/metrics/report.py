"""Reports of benchmark results: a Table-4-style Markdown table and PNG plots.

:func:`table4` lays out ``results.json`` documents (one per model and task) like the paper's
Table 4: one row per model, for each split the columns Bbox (gIoU/cIoU/Rv), Seg (Fβ/Sα/Rv),
Grasp (mIoU/gAcc/Rv) and Contact (mIoU/gAcc/Rv), in percent, "–" where a figure is null, and the
documents' ``notes`` (why a figure is null) under it. :func:`plot_splits` draws the
per-split bars of one evaluation and :func:`plot_iou_histogram` the distribution of its
per-sample IoU (box IoU, mask IoU or best grasp IoU) per split.
"""

from __future__ import annotations

import pathlib

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (backend first)
import numpy as np  # noqa: E402

TASK_COLUMNS = {
    "bbox": ("Bbox", "gIoU/cIoU/Rv", ("giou", "ciou", "validity")),
    "seg": ("Seg.", "Fβ/Sα/Rv", ("f_beta", "s_alpha", "validity")),
    "grasp": ("Grasp", "mIoU/gAcc/Rv", ("miou", "gacc", "validity")),
    "contact": ("Contact", "mIoU/gAcc/Rv", ("miou", "gacc", "validity")),
}
SPLIT_ORDER = ("seen", "similar", "novel")


def _cell(metrics: dict | None, keys: tuple[str, ...]) -> str:
    if not metrics:
        return "–"
    return "/".join("–" if metrics.get(k) is None else f"{100 * metrics[k]:.1f}" for k in keys)


def table4(results: list[dict]) -> str:
    """Markdown table of ``results.json`` documents (each with ``model``, ``task``, ``splits``)."""
    models = list(dict.fromkeys(r.get("model", "model") for r in results))
    tasks = [t for t in TASK_COLUMNS if any(r["task"] == t for r in results)]
    splits = [s for s in SPLIT_ORDER if any(s in r["splits"] for r in results)]
    splits += sorted({s for r in results for s in r["splits"]} - set(splits))
    by = {(r.get("model", "model"), r["task"]): r for r in results}
    protocols = sorted({r.get("protocol", "?") for r in results})
    head = ["Method"] + [f"{s.capitalize()} {TASK_COLUMNS[t][0]} {TASK_COLUMNS[t][1]}" for s in splits for t in tasks]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for m in models:
        cells = [m]
        for s in splits:
            for t in tasks:
                r = by.get((m, t))
                cells.append(_cell(r["splits"].get(s) if r else None, TASK_COLUMNS[t][2]))
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    lines.append(f"Percent; protocol: {', '.join(protocols)}. Accuracy metrics over valid outputs only; "
                 "Rv = validity rate.")
    lines += [f"\n{r.get('model', 'model')} {r['task']}, {note}." for r in results for note in r.get("notes", [])]
    return "\n".join(lines) + "\n"


def plot_splits(result: dict, path) -> pathlib.Path:
    """Grouped bars: one group per metric, one bar per split (and overall), in percent."""
    path = pathlib.Path(path)
    groups = {"overall": result["overall"], **result["splits"]}
    keys = [k for k in result["overall"]]
    x = np.arange(len(keys))
    width = 0.8 / len(groups)
    fig, ax = plt.subplots(figsize=(1.6 + 1.4 * len(keys), 3.6), dpi=110)
    for j, (name, metrics) in enumerate(groups.items()):
        values = [100 * (metrics.get(k) or 0.0) for k in keys]
        bars = ax.bar(x + (j - (len(groups) - 1) / 2) * width, values, width, label=name)
        ax.bar_label(bars, fmt="%.1f", fontsize=7, padding=1)
    ax.set_xticks(x, keys)
    ax.set_ylabel("%")
    low = min(0.0, *(100 * (m.get(k) or 0.0) for m in groups.values() for k in keys))
    ax.set_ylim(low - 5 if low < 0 else 0, 125)  # room for the legend above 100 %
    ax.set_title(f"{result.get('model', '')} {result['task']} ({result['protocol']}), n = {result['n']}")
    ax.legend(fontsize=8, ncol=len(groups), loc="upper center")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def plot_iou_histogram(ious: np.ndarray, splits: np.ndarray, valid: np.ndarray, path, title: str = "") -> pathlib.Path:
    """Histogram of per-sample IoU of valid outputs, one step curve per split."""
    path = pathlib.Path(path)
    fig, ax = plt.subplots(figsize=(6, 3.6), dpi=110)
    bins = np.linspace(0, 1, 21)
    names = [s for s in SPLIT_ORDER if s in set(splits.tolist())] + \
        sorted(set(splits.tolist()) - set(SPLIT_ORDER))
    for name in names:
        sel = valid & (splits == name)
        if sel.any():
            ax.hist(np.clip(ious[sel], 0, 1), bins=bins, histtype="step", linewidth=1.5,
                    label=f"{name} (n = {int(sel.sum())})")
    ax.axvline(0.25, color="grey", linestyle=":", linewidth=1)
    ax.set_xlabel("IoU")
    ax.set_ylabel("samples")
    ax.set_title(title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path
