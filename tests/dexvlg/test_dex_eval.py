"""dex-eval: PTA/PGA counting on hand-made geometry, Suc of a trial whose grasp lifts the orange and of
one that grasps air, and a tiny end-to-end `realvlg dex-eval` run (random-weight model) with its JSON."""

import json

import numpy as np
import pytest

from realvlg.dexvlg.scoring import finger_part_contacts, pta_pga
from realvlg.errors import InvalidInputError
from realvlg.frames import UR_BASE_FRAME


def _plane(x: float, n: int = 441) -> np.ndarray:
    g = np.linspace(-0.02, 0.02, int(np.sqrt(n)))  # 21 × 21: the grid holds (x, 0, 0)
    y, z = np.meshgrid(g, g)
    return np.column_stack([np.full(y.size, x), y.ravel(), z.ravel()])


def test_pta_pga_count_fingers_near_and_closest_to_the_target_part():
    # target part (id 0): the plane x = 0; another part (id 1): the plane x = 0.012
    points = np.concatenate([_plane(0.0), _plane(0.012)])
    ids = np.repeat([0, 1], len(points) // 2)
    finger = lambda x: np.array([[x, 0.0, 0.0], [x - 0.02, 0.0, 0.0]])  # noqa: E731  tip at x, 2 cm link along −x
    fingers = np.stack([finger(-0.005),   # 5 mm from the target, 17 mm from the other: on
                        finger(-0.015),   # 15 mm away: off
                        finger(0.008),    # 8 mm from the target but 4 mm from the other part: off
                        finger(-0.009),   # 9 mm: on
                        finger(-0.0099)])  # 9.9 mm: on
    on = finger_part_contacts(fingers, points, ids, target=0)
    assert on.tolist() == [True, False, False, True, True]
    assert pta_pga(on) == (True, True)
    assert pta_pga(on & [True, True, True, False, False]) == (True, False)
    assert pta_pga(np.zeros(5, bool)) == (False, False)
    # the same fingers with part 1 as the target: only the middle one is nearer to it (4 mm)
    assert finger_part_contacts(fingers, points, ids, target=1).tolist() == [False, False, True, False, False]
    with pytest.raises(InvalidInputError):
        finger_part_contacts(fingers, points, ids, target=2)
    with pytest.raises(InvalidInputError):
        finger_part_contacts(fingers[0], points, ids, target=0)


def test_sampled_joints_are_clipped_to_the_hand_and_the_distal_joints_coupled():
    from scipy.spatial.transform import Rotation

    from realvlg.dexvlg.planner import clip_to_hand
    from realvlg.geometry.grasps import DexGrasp
    from realvlg.shadow_hand import JOINT_LOWER, JOINT_UPPER, SHADOW_JOINTS

    joints = np.linspace(-3, 3, len(SHADOW_JOINTS))
    g = clip_to_hand(DexGrasp((0.1, 0.2, 0.3), Rotation.from_euler("z", 0.4), joints, "base", {"sample": 3}))
    assert np.all(g.joints >= JOINT_LOWER - 1e-12) and np.all(g.joints <= JOINT_UPPER + 1e-12)
    ff1, ff0 = SHADOW_JOINTS.index("FFJ1"), SHADOW_JOINTS.index("FFJ0")
    assert g.joints[ff0] == pytest.approx(min(1.142 * g.joints[ff1], JOINT_UPPER[ff0]), abs=2e-3)
    assert g.frame == "base" and g.extras == {"sample": 3} and np.allclose(g.position, (0.1, 0.2, 0.3))


from scripted_grasps import ORANGE_GRASP, SPHERE_IN_PALM, top_grasp  # noqa: E402

sim = pytest.importorskip("realvlg.sim.ur10e_shadow_world")
if __import__("importlib").util.find_spec("gymnasium_robotics") is None:
    pytest.skip("gymnasium-robotics (Shadow Hand MJCF) not installed", allow_module_level=True)


class ScriptedPlanner:
    """Stand-in for DexGraspPlanner that returns one fixed grasp (the scripted orange grasp of
    tests/scripted_grasps.py), so that the scoring of a trial is tested on a grasp known to lift or to miss; the
    real planner (model + ranking) runs in the end-to-end test below."""

    def __init__(self, world, offset):
        self.world, self.offset = world, np.asarray(offset, dtype=float)

    def plan(self, scene, instruction, *, target, seed):
        from realvlg.dexvlg.planner import DexPlan
        from realvlg.dexvlg.ranking import RankedGrasp, Ranking
        from realvlg.geometry.grasps import DexGrasp

        w = self.world
        centre = w.data.xipos[w.model.body(f"obj/{target[0]}").id]  # as tests/scripted_grasps.py's
        g = top_grasp(np.zeros(3), ORANGE_GRASP)
        g = DexGrasp(centre - g.rotation.apply(SPHERE_IN_PALM) + self.offset, g.rotation, g.joints, UR_BASE_FRAME)
        best = RankedGrasp(g, 1.0, {})
        return DexPlan(instruction, *target, [g], Ranking([best], []), best)


@pytest.fixture(scope="module")
def orange_world():
    with sim.UR10eShadowWorld((), sim.UR10eShadowWorldConfig(camera=sim.D415CameraConfig(320, 180)), objects=["orange"]) as w:
        yield w


def test_a_trial_scores_suc_for_a_lifted_object_and_not_for_a_missed_one(orange_world):
    from realvlg.dexvlg.hand import ShadowHand
    from realvlg.sim.dex_eval import DexEvalConfig, run_trial

    hand, config = ShadowHand(), DexEvalConfig(trials=1, objects=("orange",), seed=0)
    lifted = run_trial(orange_world, ScriptedPlanner(orange_world, (0, 0, 0)), "scripted", "orange", 0, config, hand)
    assert lifted.suc and lifted.outcome == "lifted" and lifted.height_gain > 0.03, lifted
    assert lifted.pta and lifted.part == "body" and "thumb" in lifted.fingers_on_part
    missed = run_trial(orange_world, ScriptedPlanner(orange_world, (0, 0, 0.25)), "scripted", "orange", 0, config, hand)
    assert not missed.suc and not missed.pta and not missed.pga and missed.fingers_on_part == []
    assert abs(missed.height_gain) < 0.005


def test_replayed_dataset_grasps_are_scored_like_a_model(orange_world):
    from realvlg.dexvlg.dataset import grasp_record
    from realvlg.dexvlg.hand import ShadowHand
    from realvlg.sim.dex_eval import REPLAY, DexEvalConfig, replay_trial, run_replay
    from realvlg.sim.ur10e_shadow_world import ur10e_scene

    hand, config = ShadowHand(), DexEvalConfig(trials=1, objects=("orange",), seed=0)
    w = orange_world
    w.reset(ur10e_scene(config.setting, config.seed, ["orange"], w.config))
    base_object = w.object_pose("orange")
    records = []
    for k, offset in enumerate(((0, 0, 0), (0, 0, 0.25), (0.3, 0.6, 0.8))):  # lifts, grasps air, out of reach
        g = ScriptedPlanner(w, offset).plan(None, "", target=("orange", "body"), seed=0).best.grasp
        in_object = g.transformed(np.linalg.inv(base_object), "object")
        records.append(grasp_record(f"orange-body-0000-{k:02d}", "orange", "body", ["thumb", "index"], in_object, {}))
    lifted, missed, refused = (replay_trial(w, r, 0, config, hand) for r in records)
    assert lifted.model == REPLAY and lifted.suc and lifted.pta and lifted.instruction == records[0]["caption"]
    assert not missed.suc and not missed.pta and missed.outcome == "nothing held after the lift"
    assert not (refused.suc or refused.pta or refused.pga) and "reach" in refused.outcome
    # run_replay: the first `trials` grasps per object, objects without grasps refused
    assert [r.suc for r in run_replay(records, config, progress=False)] == [True]
    with pytest.raises(InvalidInputError, match="no dataset grasps"):
        run_replay(records, DexEvalConfig(objects=("mug",)), progress=False)


def test_dex_eval_end_to_end_with_a_tiny_random_model(tmp_path, monkeypatch, capsys):
    from realvlg.cli import main
    from realvlg.dexvlg.model import build_model

    for name in ("tiny-a", "tiny-b"):
        build_model("tiny", seed=1).save_pretrained(tmp_path / "models" / name)
    monkeypatch.setenv("REALVLG_MODELS", str(tmp_path / "models"))
    out = tmp_path / "eval.json"
    from test_dex_dataset import make_dataset

    data = tmp_path / "data"
    make_dataset(data, grasps=1, obj="orange")
    code = main(["dex-eval", "--trials", "1", "--objects", "orange", "--model", "tiny-a", "--baseline", "tiny-b",
                 "--samples", "4", "--flow-steps", "2", "--json", str(out), "--no-progress", "--replay", str(data),
                 "--weights", "contact=0, closure=2.5"])
    assert code == 0
    doc = json.loads(out.read_text())
    assert doc["ranking_weights"] == {"collision": 1.0, "contact": 0.0, "reach": 0.5, "closure": 2.5}
    assert doc["checkpoints"]["dataset"] == [str(data)] and doc["models"]["dataset"]["trials"] == 1
    for label in ("dexvlg", "baseline"):
        summary = doc["models"][label]
        assert {"suc", "pta", "pga", "trials", "objects"} <= set(summary) and summary["trials"] == 1
        assert set(doc["models"][label]["objects"]["orange"]) >= {"suc", "pta", "pga"}
        assert all(0.0 <= summary[m] <= 1.0 for m in ("suc", "pta", "pga"))
    trial = doc["trials"][0]
    assert trial["object"] == "orange" and trial["instruction"].startswith("Grasp the body of the orange object")
    assert trial["outcome"]  # lifted, the executor's reason or the ranking's refusal
    table = capsys.readouterr().out
    assert "| dexvlg | **overall** | 1 |" in table and "| baseline | orange | 1 |" in table
    assert main(["dex-eval", "--trials", "0", "--objects", "orange", "--model", "tiny-a", "--baseline", ""]) == 2
    for bad in ("grip=1", "contact", "contact=much", "reach=-1"):   # unknown term, no value, not a number, negative
        assert main(["dex-eval", "--objects", "orange", "--model", "tiny-a", "--baseline", "", "--weights", bad]) == 2

