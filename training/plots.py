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
                panels: tuple[tuple[str, str], ...] = ()) -> pathlib.Path:
    """Write the three panels (or the loss, for SFT; or ``panels``: (label, history key) pairs) to
    ``path`` (PNG) and return it."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = panels or (PANELS if any("reward" in h for h in history) else (("loss", "loss"),))
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.2), squeeze=False)
    for ax, (label, key) in zip(axes[0], panels):
        x, y = series(history, key)
        if x:
            ax.plot(x, y, marker="o", markersize=3)
        else:
            ax.text(0.5, 0.5, f"no {label} logged", ha="center", va="center", transform=ax.transAxes)
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
