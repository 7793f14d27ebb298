"""A tree of named frames, ROS-free: the transforms a TF listener collects, and chain lookups.

Every edge is a :class:`~realvlg.geometry.transforms.Transform` parent←child (a ROS
``TransformStamped`` with ``header.frame_id = parent``, ``child_frame_id = child``). As in tf2,
each frame has at most one parent: an edge naming a child that already has another parent is
refused with :class:`FrameConflictError` (two publishers claiming the same frame — e.g. a hand-eye
mount straight onto ``camera_color_optical_frame`` next to realsense-ros's own chain); the same
edge again replaces the old one (a newer static transform).

:meth:`TransformTree.lookup` chains any two connected frames through their nearest common
ancestor: ``lookup(a, c)`` is a←c, whichever way the edges point. The tree is thread-safe (a ROS
subscriber adds while a capture looks up).
"""

from __future__ import annotations

import threading
from typing import Iterable

from realvlg.errors import InvalidInputError
from realvlg.geometry.transforms import Transform


class FrameConflictError(InvalidInputError):
    """A frame would get a second parent."""


class FrameLookupError(InvalidInputError):
    """No chain of known transforms connects the two frames."""


class TransformTree:
    """Edges child → parent←child; see the module docstring."""

    def __init__(self, transforms: Iterable[Transform] = ()):
        self._edges: dict[str, Transform] = {}
        self._lock = threading.Lock()
        for transform in transforms:
            self.add(transform)

    def add(self, transform: Transform) -> None:
        """Add or replace parent←child; raises :class:`FrameConflictError` when ``child`` already has
        another parent, or when the edge would close a loop."""
        with self._lock:
            known = self._edges.get(transform.child)
            if known is not None and known.parent != transform.parent:
                raise FrameConflictError(f"frame {transform.child!r} already has parent {known.parent!r}; "
                                         f"refusing a second parent {transform.parent!r}")
            if transform.child in self._ancestors(transform.parent):
                raise FrameConflictError(f"{transform.parent}←{transform.child} would close a loop")
            self._edges[transform.child] = transform

    def parent(self, frame: str) -> str | None:
        with self._lock:
            edge = self._edges.get(frame)
        return edge.parent if edge else None

    @property
    def edges(self) -> list[Transform]:
        with self._lock:
            return list(self._edges.values())

    @property
    def frames(self) -> set[str]:
        with self._lock:
            return set(self._edges) | {t.parent for t in self._edges.values()}

    def roots(self) -> set[str]:
        """Frames without a parent (one for a connected tree)."""
        with self._lock:
            return {t.parent for t in self._edges.values() if t.parent not in self._edges}

    def _ancestors(self, frame: str) -> list[str]:
        """frame, its parent, …, the root (lock held)."""
        chain = [frame]
        while chain[-1] in self._edges:
            chain.append(self._edges[chain[-1]].parent)
        return chain

    def lookup(self, parent: str, child: str) -> Transform:
        """parent←child through the nearest common ancestor; raises :class:`FrameLookupError` when
        they are not connected (a frame not published yet, or two separate trees)."""
        with self._lock:
            up, down = self._ancestors(child), self._ancestors(parent)
            if up[-1] != down[-1]:
                known = sorted(set(self._edges) | {t.parent for t in self._edges.values()})
                raise FrameLookupError(f"no transform chain from {parent!r} to {child!r} (known frames: "
                                       f"{', '.join(known) or 'none'})")
            common = next(f for f in up if f in down)
            ancestor_from_child = Transform.identity(common, common)
            for frame in reversed(up[:up.index(common)]):
                ancestor_from_child = ancestor_from_child @ self._edges[frame]
            ancestor_from_parent = Transform.identity(common, common)
            for frame in reversed(down[:down.index(common)]):
                ancestor_from_parent = ancestor_from_parent @ self._edges[frame]
        return ancestor_from_parent.inverse() @ ancestor_from_child
