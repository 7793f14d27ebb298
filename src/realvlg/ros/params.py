"""ROS parameters ↔ realvlg's config dataclasses, one way for every node.

:func:`declare_config` declares one parameter per field of a (frozen) config dataclass, named as
the field (nested dataclasses: ``<field>.<subfield>``, e.g. ``workspace.x``), with the instance's
value as default, and returns the config with the values the node was given. Fields of types a
parameter cannot hold (callables, objects) keep their value; tuples come back as tuples, arrays as
arrays; ``skip`` names fields the node sets itself.
"""

from __future__ import annotations

import dataclasses

import numpy as np

_SCALARS = (bool, int, float, str)


def _parameter_value(value):
    if isinstance(value, _SCALARS):
        return value
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, _SCALARS) for v in value):
        kinds = {type(v) for v in value}
        return [float(v) for v in value] if kinds <= {int, float} and float in kinds else list(value)
    return None


def declare_config(node, config, prefix: str = "", skip: tuple[str, ...] = ()):
    """``config`` with each field replaced by the node's parameter ``prefix + name`` (declared here)."""
    values = {}
    for f in dataclasses.fields(config):
        if f.name in skip or not f.init:
            continue
        current = getattr(config, f.name)
        if dataclasses.is_dataclass(current):
            values[f.name] = declare_config(node, current, f"{prefix}{f.name}.")
            continue
        default = _parameter_value(current)
        if default is None:
            continue
        given = node.declare_parameter(prefix + f.name, default).value
        if isinstance(current, np.ndarray):
            given = np.asarray(given, dtype=current.dtype)
        elif isinstance(current, tuple):
            given = tuple(given)
        elif isinstance(current, float):
            given = float(given)
        values[f.name] = given
    return dataclasses.replace(config, **values)
