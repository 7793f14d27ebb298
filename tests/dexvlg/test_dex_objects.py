"""Part-labelled surface clouds of the simulated objects and their signed distance."""

import numpy as np
import pytest
import torch

from realvlg.dexvlg.objects import ObjectSDF, object_cloud
from realvlg.errors import InvalidInputError
from realvlg.objects import OBJECTS


@pytest.mark.parametrize("name", sorted(OBJECTS))
def test_cloud_lies_on_the_outer_surface_with_outward_normals(name):
    cloud = object_cloud(name, 1024, seed=0)
    spec = OBJECTS[name]
    assert cloud.points.shape == (1024, 3) and cloud.points.dtype == np.float32
    assert cloud.part_ids.dtype == np.int16 and cloud.part_names == tuple(spec.parts)
    sdf = ObjectSDF(name)
    on = sdf(torch.as_tensor(cloud.points, dtype=torch.float64)).numpy()
    assert np.abs(on).max() < 1e-5  # on the union's surface, none buried inside another geom
    out = sdf(torch.as_tensor(cloud.points + 0.002 * cloud.normals, dtype=torch.float64)).numpy()
    assert (out > 0).mean() > 0.99
    np.testing.assert_allclose(np.linalg.norm(cloud.normals, axis=1), 1, atol=1e-5)
    # each point has the colour of a geom of its part
    for k, part in enumerate(cloud.part_names):
        colours = {tuple(np.float32(spec.geoms[i].rgba[:3])) for i in spec.parts[part]}
        assert {tuple(c) for c in cloud.colors[cloud.part_ids == k]} <= colours
    assert cloud.points[:, 2].min() > -0.002  # object frame: standing on z = 0


def test_cloud_is_seeded_and_area_weighted():
    a, b, c = object_cloud("mug", 2048, 1), object_cloud("mug", 2048, 1), object_cloud("mug", 2048, 2)
    np.testing.assert_array_equal(a.points, b.points)
    assert not np.array_equal(a.points, c.points)
    handle = a.part_mask("handle").mean()
    assert 0.05 < handle < 0.2  # the handle's share of the mug's outer area
    assert object_cloud("bottle", 2048, 0).part_mask("cap").sum() > 50


def test_sdf_values():
    sdf = ObjectSDF("stapler")  # base box half extents (0.075, 0.018, 0.008) at z 0.008
    d = sdf.part_distances(torch.tensor([[0.0, 0.0, 0.004], [0.0, 0.05, 0.008]], dtype=torch.float64)).numpy()
    base = sdf.part_names.index("base")
    assert d[0, base] == pytest.approx(-0.004, abs=1e-5)
    assert d[1, base] == pytest.approx(0.032, abs=1e-5)
    orange = ObjectSDF("orange")
    r = OBJECTS["orange"].geoms[0].size[0]
    assert orange(torch.tensor([[0.1, 0.0, r * 0.94]], dtype=torch.float64)).item() == pytest.approx(0.1 - r, abs=1e-4)
    p = torch.tensor([[0.0, 0.0, 0.25]], dtype=torch.float64, requires_grad=True)
    ObjectSDF("bottle")(p).sum().backward()
    np.testing.assert_allclose(p.grad.numpy(), [[0, 0, 1]], atol=1e-6)  # differentiable: above the cap: straight up


def test_bad_input():
    with pytest.raises(InvalidInputError, match="unknown object"):
        object_cloud("teapot", 10)
    with pytest.raises(InvalidInputError):
        object_cloud("mug", 0)
    with pytest.raises(InvalidInputError, match="no part"):
        object_cloud("mug", 64).part_mask("spout")
