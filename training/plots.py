"""Training curves like RealVLG-R1's Fig. 7: reward, accuracy and KL against the step.

Read from TRL's ``trainer.state.log_history``: ``reward`` (the weighted total),
``rewards/task/mean`` (accuracy = the task reward), ``kl`` (absent when β = 0, e.g. GSPO's
default; the panel then says so). SFT runs have no rewards: their loss is drawn instead.
"""

from __future__ import annotations

import pathlib

PANELS = (("reward", "reward"), ("accuracy", "rewards/task/mean"), ("KL", "kl"))


def series(history: list[dict], key: str) -> tuple[list[float], list[float]]:
    points = [(h.get("step", i), h[key]) for i, h in enumerate(history) if key in h]
    return [p[0] for p in points], [p[1] for p in points]


def plot_curves(history: list[dict], path: str | pathlib.Path, title: str = "",
                panels: tuple[tuple[str, str | tuple[str, ...]], ...] | None = None) -> pathlib.Path:
    """Write the three panels (or the loss, for SFT) to ``path`` (PNG) and return it. ``panels``:
    other ``(title, key or keys)`` panels instead; several keys draw one line each, with a legend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = panels or (PANELS if any("reward" in h for h in history) else (("loss", "loss"),))
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.2), squeeze=False)
    for ax, (label, keys) in zip(axes[0], panels):
        keys = (keys,) if isinstance(keys, str) else tuple(keys)
        drawn = [key for key in keys if series(history, key)[0]]
        for key in drawn:
            ax.plot(*series(history, key), marker="o", markersize=3, label=key if len(keys) > 1 else None)
        if not drawn:
            ax.text(0.5, 0.5, f"no {label} logged", ha="center", va="center", transform=ax.transAxes)
        elif len(keys) > 1:
            ax.legend(fontsize=7)
        ax.set_xlabel("step")
        ax.set_title(label)
        ax.grid(alpha=0.3)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    path = pathlib.Path(path)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
