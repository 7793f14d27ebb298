"""What every training method returns, and where it exports its model.

Shared by :mod:`training.run` (the TRL methods and the method registry) and the methods with their
own loops (:mod:`training.embedded`, :mod:`training.dexvlg`); it imports none of them, so the
training package has no import circle.
"""

from __future__ import annotations

import pathlib
from dataclasses import dataclass


@dataclass
class RunResult:
    output_dir: pathlib.Path
    model_dir: pathlib.Path | None
    metrics: dict
    seconds: float


def export_root(config: dict) -> pathlib.Path:
    """Where a run exports its model: ``export_dir`` (relative to the repository root: the shipped
    models go to ``models/``) or, by default, the user's models directory."""
    from realvlg.graph import repo_path
    from realvlg.grounding import registry

    return repo_path(config["export_dir"]) if config.get("export_dir") else registry.models_dir()
