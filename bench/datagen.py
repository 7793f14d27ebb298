"""Data generation throughput for the embedded model (`realvlg datagen`, issue 8): views and
annotation records per minute on this machine, with 1 and 2 rendering processes. The peer in the
same run is rendering alone (the same scenes through FR3World.render, no labels, no files), which
bounds what the labels and PNG writing cost."""

import json
import tempfile
import time

from realvlg.embedded.datagen import DatagenConfig, _Renderer, generate

SCENES = 12  # training scenes per run (+ 1 per test split), 3 views each


def throughput(workers: int) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as root:
        config = DatagenConfig(root=root, seed=11, train_scenes=SCENES, test_scenes=1, workers=workers)
        start = time.perf_counter()
        meta = generate(config, progress=False)
        minutes = (time.perf_counter() - start) / 60
        return meta["views"] / minutes, sum(meta["records"].values()) / minutes


def render_only() -> float:
    config = DatagenConfig(seed=11, train_scenes=SCENES, test_scenes=1)
    renderer = _Renderer(config)
    scenes = [renderer.scene(i) for i in range(SCENES)]
    start = time.perf_counter()
    views = 0
    for placements, _, rng in scenes:
        for view in range(config.views_per_scene):
            renderer.world.pose(placements, renderer.view_pose(rng, view))
            renderer.world.render()
            views += 1
    return views / ((time.perf_counter() - start) / 60)


def main() -> None:
    one = throughput(1)
    two = throughput(2)
    peer = render_only()
    print(json.dumps({"views_per_min_1_worker": round(one[0]), "records_per_min_1_worker": round(one[1]),
                      "views_per_min_2_workers": round(two[0]), "records_per_min_2_workers": round(two[1]),
                      "peer_render_only_views_per_min": round(peer)}, indent=1))
    print(f"datagen, 320x180, {SCENES + 3} scenes x 3 views (incl. process start-up and annotation):")
    print(f"  1 worker : {one[0]:7.0f} views/min, {one[1]:7.0f} records/min")
    print(f"  2 workers: {two[0]:7.0f} views/min, {two[1]:7.0f} records/min  ({two[0] / one[0]:.2f}x)")
    print(f"  peer, rendering alone (1 process): {peer:7.0f} views/min -> labels + files cost "
          f"{(1 - one[0] / peer) * 100:.0f} % of a worker's time")


if __name__ == "__main__":
    main()
