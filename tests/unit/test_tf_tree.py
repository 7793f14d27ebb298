"""The transform tree: chain lookups any way round, one parent per frame, clear errors."""

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from realvlg.geometry.tf_tree import FrameConflictError, FrameLookupError, TransformTree
from realvlg.geometry.transforms import Transform


def random_transform(rng, parent, child):
    return Transform.from_translation_rotation(rng.uniform(-1, 1, 3), Rotation.random(random_state=rng), parent, child)


@pytest.fixture
def tree():
    #        base
    #       /    \
    #     tcp    table
    #      |
    #    camera_link — color — optical
    rng = np.random.default_rng(7)
    edges = [random_transform(rng, *pc) for pc in [("base", "tcp"), ("base", "table"), ("tcp", "camera_link"),
                                                   ("camera_link", "color"), ("color", "optical")]]
    return TransformTree(edges), {(e.parent, e.child): e for e in edges}


def test_lookup_composes_down_up_and_across_branches(tree):
    t, e = tree
    down = e["base", "tcp"] @ e["tcp", "camera_link"] @ e["camera_link", "color"] @ e["color", "optical"]
    assert t.lookup("base", "optical").isclose(down, 1e-12)
    assert t.lookup("optical", "base").isclose(down.inverse(), 1e-12)
    across = e["base", "table"].inverse() @ e["base", "tcp"] @ e["tcp", "camera_link"]
    assert t.lookup("table", "camera_link").isclose(across, 1e-12)
    assert t.lookup("camera_link", "optical").isclose(e["camera_link", "color"] @ e["color", "optical"], 1e-12)
    assert t.lookup("color", "color").isclose(Transform.identity("color", "color"))
    assert t.lookup("unknown", "unknown").isclose(Transform.identity("unknown", "unknown"))
    assert t.roots() == {"base"} and t.parent("optical") == "color" and t.parent("base") is None
    assert t.frames == {"base", "tcp", "table", "camera_link", "color", "optical"}


def test_a_second_parent_or_a_loop_is_refused_and_the_same_edge_replaced(tree):
    t, e = tree
    with pytest.raises(FrameConflictError, match="'optical' already has parent 'color'.*second parent 'tcp'"):
        t.add(Transform.identity("tcp", "optical"))
    with pytest.raises(FrameConflictError, match="close a loop"):
        t.add(Transform.identity("optical", "base"))
    newer = Transform.from_translation_rotation([0, 0, 1], Rotation.identity(), "color", "optical")
    t.add(newer)
    assert t.lookup("color", "optical").isclose(newer)


def test_unconnected_frames_name_what_is_known(tree):
    t, _ = tree
    t.add(Transform.identity("map", "odom"))
    with pytest.raises(FrameLookupError, match="no transform chain from 'map' to 'optical'.*known frames: base"):
        t.lookup("map", "optical")
    with pytest.raises(FrameLookupError, match="'camera_link' to 'camera_color_optical_frame'"):
        TransformTree().lookup("camera_link", "camera_color_optical_frame")
