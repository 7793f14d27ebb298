"""``realvlg dex-eval``: DexVLG's simulation benchmark (paper Table 2 analogue), pure core.

Per object of :data:`realvlg.objects.OBJECTS` (all have named parts) and per trial ``t``:

1. a seeded scene: :func:`~realvlg.sim.ur10e_shadow_world.ur10e_scene` (``setting``, seed ``seed + t``, that
   object alone) in one :class:`~realvlg.sim.ur10e_shadow_world.UR10eShadowWorld`, the arm at the observation pose;
2. the wrist RGB-D frame → :class:`~realvlg.dexvlg.planner.DexScene` (base frame, z up; part labels
   from the renderer);
3. the instruction: the caption template for the object's observed part ``t mod #parts`` with
   contacts on ``fingers`` (default thumb, index and middle);
4. :class:`~realvlg.dexvlg.planner.DexGraspPlanner`: ``samples`` grasps from the model, ranked with
   the Shadow Hand; the best one the arm can execute (:func:`~realvlg.grasping.attempt.first_executable`)
   is executed by :class:`~realvlg.robots.ur10e_shadow.ur10e_shadow.UR10eShadowExecutor` on the
   world's :class:`~realvlg.sim.ur10e_shadow_world.SimBackend` (the stages the real robot runs);
5. scores:

   * **Suc** — :meth:`~realvlg.sim.ur10e_shadow_world.UR10eShadowWorld.lift_check` after the executor's lift: the
     object ≥ 3 cm above its resting height, held 1 s, touching the hand and not the table;
   * **PTA / PGA** (paper §6.2) at the executed grasp: the Shadow Hand's finger points
     (:meth:`~realvlg.dexvlg.hand.ShadowHand.finger_points`, middle + distal links) at the chosen
     grasp against the object's part-labelled surface points
     (:func:`~realvlg.dexvlg.objects.object_cloud`, placed at the object's observed pose). A finger
     is *on* the target part when its nearest distance to the part is < 1 cm and smaller than to any
     other part (:func:`finger_part_contacts`); PTA: ≥ 1 finger, PGA: ≥ 3 fingers
     (:func:`pta_pga`).

A trial in which no sampled grasp passes the ranking and the executor's planning scores 0 on all
three (the refusal is kept in the trial record). The same scenes, instructions and sampling seeds go to every model (the trained
model and the language-free baseline). :func:`run_replay` scores the generator's own grasps (model
label ``dataset``) through the same scenes, executor and scoring — the ceiling of the execution
chain for grasps known to be valid. :func:`summarise` averages per object and overall;
:func:`markdown_table` prints them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

from realvlg.dexvlg.dataset import caption
from realvlg.dexvlg.scoring import finger_part_contacts, pta_pga
from realvlg.errors import GraspRefusedError, InvalidInputError
from realvlg.frames import UR_BASE_FRAME

METRICS = ("suc", "pta", "pga")
REPLAY = "dataset"  # the model label of replayed dataset grasps (run_replay)


# -- the benchmark -------------------------------------------------------------------------------
@dataclass(frozen=True)
class DexEvalConfig:
    trials: int = 3
    objects: tuple[str, ...] = ()  # empty: every object of realvlg.objects.OBJECTS
    setting: str = "single"
    seed: int = 0
    fingers: tuple[str, ...] = ("thumb", "index", "middle")  # the caption's contacts
    width: int = 320  # wrist camera resolution (D415 intrinsics scaled)
    height: int = 180
    object_points: int = 4096  # surface samples per object for PTA/PGA
    contact_distance: float = 0.01
    planner: object = None  # a realvlg.dexvlg.planner.DexPlannerConfig (None: its defaults)


@dataclass
class TrialResult:
    model: str
    object: str
    part: str
    trial: int
    instruction: str
    suc: bool
    pta: bool
    pga: bool
    fingers_on_part: list[str] = field(default_factory=list)
    outcome: str = ""  # "lifted", the executor's reason, or the refusal
    height_gain: float = float("nan")
    score: float = float("nan")


def _object_points(name: str, n: int, seed: int):
    from realvlg.dexvlg.objects import object_cloud

    return object_cloud(name, n, seed)


def run_trial(world, planner, model_name: str, obj: str, trial: int, config: DexEvalConfig, hand,
              executor=None) -> TrialResult:
    """One scene, one instruction, one executed grasp (module docstring)."""
    from realvlg.dexvlg.planner import DexScene
    from realvlg.grasping.attempt import first_executable, refusal_summary
    from realvlg.sim.ur10e_shadow_world import sim_executor, ur10e_scene

    world.reset(ur10e_scene(config.setting, config.seed + trial, [obj], world.config))
    scene = DexScene.from_frame(world.render())
    parts = scene.visible_parts(obj)
    if not parts:
        return TrialResult(model_name, obj, "", trial, "", False, False, False, outcome="no part of the object in view")
    part = parts[trial % len(parts)]
    instruction = caption(part, obj, config.fingers)
    plan = planner.plan(scene, instruction, target=(obj, part), seed=config.seed + trial)
    executor = executor or sim_executor(world)
    if plan.best is None:
        return TrialResult(model_name, obj, part, trial, instruction, False, False, False, outcome=plan.refusal)
    accepted = plan.ranking.accepted
    index, refusals = first_executable([r.grasp for r in accepted], executor)
    if index < 0:
        return TrialResult(model_name, obj, part, trial, instruction, False, False, False,
                           outcome=f"none of the {len(accepted)} feasible grasps can be executed: "
                                   f"{refusal_summary(refusals)}")
    return _execute_and_score(world, executor, accepted[index].grasp, model_name, obj, part, trial, instruction,
                              config, hand, accepted[index].score)


def _execute_and_score(world, executor, grasp, model_name: str, obj: str, part: str, trial: int,
                       instruction: str, config: DexEvalConfig, hand, score: float = float("nan")) -> TrialResult:
    """PTA / PGA of ``grasp`` (base frame) against the object's part-labelled surface at its observed
    pose, then execute it and check the lift (module docstring, step 5)."""
    from realvlg.shadow_hand import FINGERS

    cloud = _object_points(obj, config.object_points, config.seed)
    T = world.object_pose(obj)
    points = cloud.points @ T[:3, :3].T + T[:3, 3]
    fingers = hand.finger_points(grasp)
    contacts = finger_part_contacts(np.stack([fingers[f] for f in FINGERS]), points, cloud.part_ids,
                                    cloud.part_names.index(part), config.contact_distance)
    pta, pga = pta_pga(contacts)
    on = [f for f, c in zip(FINGERS, contacts) if c]

    result = executor.grasp(grasp)
    lift = world.lift_check(obj)
    outcome = "lifted" if lift.success else (result.reason or f"not lifted ({lift.height_gain * 100:.1f} cm)")
    return TrialResult(model_name, obj, part, trial, instruction, lift.success, pta, pga, on, outcome,
                       lift.height_gain, score)


def replay_trial(world, record: dict, trial: int, config: DexEvalConfig, hand, executor=None) -> TrialResult:
    """A generated grasp (dataset record, object frame) as the policy: the scene of trial ``trial``,
    the grasp moved to the object's observed pose, planned (a refusal scores 0), executed, scored
    like a model's — the ceiling of the execution chain on grasps the generator validated."""
    from realvlg.dexvlg.dataset import record_grasp
    from realvlg.sim.ur10e_shadow_world import sim_executor, ur10e_scene

    obj, part, instruction = record["object"], record["part"], record["caption"]
    world.reset(ur10e_scene(config.setting, config.seed + trial, [obj], world.config))
    grasp = record_grasp(record).transformed(world.object_pose(obj), UR_BASE_FRAME)
    executor = executor or sim_executor(world)
    try:
        executor.check(grasp)
    except GraspRefusedError as exc:
        return TrialResult(REPLAY, obj, part, trial, instruction, False, False, False, outcome=str(exc))
    return _execute_and_score(world, executor, grasp, REPLAY, obj, part, trial, instruction, config, hand)


def run_replay(grasps: Sequence[dict], config: DexEvalConfig = DexEvalConfig(), progress: bool = True) -> list[TrialResult]:
    """:func:`replay_trial` of the first ``config.trials`` grasps of each object of ``config.objects``
    (all with grasps when empty) in ``grasps`` (dataset records), trial ``t`` on the ``t``-th."""
    from tqdm import tqdm

    from realvlg.dexvlg.hand import ShadowHand
    from realvlg.sim.ur10e_shadow_world import D415CameraConfig, UR10eShadowWorld, UR10eShadowWorldConfig, sim_executor

    by_object: dict[str, list[dict]] = {}
    for record in grasps:
        if not config.objects or record["object"] in config.objects:
            by_object.setdefault(record["object"], []).append(record)
    if not by_object:
        raise InvalidInputError(f"no dataset grasps of {list(config.objects) or 'any object'} to replay")
    cases = [(r, t) for records in by_object.values() for t, r in enumerate(records[: config.trials])]
    hand = ShadowHand()
    sim_config = UR10eShadowWorldConfig(camera=D415CameraConfig(config.width, config.height))
    with UR10eShadowWorld((), sim_config, objects=tuple(by_object)) as world:
        executor = sim_executor(world)
        return [replay_trial(world, record, t, config, hand, executor)
                for record, t in tqdm(cases, desc="dex-eval replay", disable=not progress)]


def run_benchmark(models: dict, config: DexEvalConfig = DexEvalConfig(), progress: bool = True) -> list[TrialResult]:
    """Every (object, trial) for every model of ``models`` (label → DexVLG), in one world."""
    from tqdm import tqdm

    from realvlg.dexvlg.hand import ShadowHand
    from realvlg.dexvlg.planner import DexGraspPlanner, DexPlannerConfig
    from realvlg.objects import OBJECTS
    from realvlg.robots.ur10e_shadow.kinematics import UR10eReach
    from realvlg.sim.ur10e_shadow_world import D415CameraConfig, UR10eShadowWorld, UR10eShadowWorldConfig, sim_executor

    if config.trials < 1:
        raise InvalidInputError(f"--trials must be ≥ 1, got {config.trials}")
    if not models:
        raise InvalidInputError("dex-eval needs at least one model")
    objects = tuple(config.objects) or tuple(OBJECTS)
    unknown = [o for o in objects if o not in OBJECTS]
    if unknown:
        raise InvalidInputError(f"unknown objects {unknown}; known: {', '.join(OBJECTS)}")
    hand = ShadowHand()
    reach = UR10eReach()
    planners = {name: DexGraspPlanner(m, hand, config.planner or DexPlannerConfig(), reach) for name, m in models.items()}
    sim_config = UR10eShadowWorldConfig(camera=D415CameraConfig(config.width, config.height))
    results = []
    cases = [(o, t, name) for o in objects for t in range(config.trials) for name in planners]
    with UR10eShadowWorld((), sim_config, objects=objects) as world:
        executor = sim_executor(world)
        for obj, trial, name in tqdm(cases, desc="dex-eval", disable=not progress):
            results.append(run_trial(world, planners[name], name, obj, trial, config, hand, executor))
    return results


def summarise(results: Sequence[TrialResult]) -> dict:
    """``{model: {"suc", "pta", "pga", "trials", "objects": {object: {"suc", "pta", "pga", "trials"}}}}``
    (rates 0–1)."""
    def rates(rows):
        return {**{m: float(np.mean([getattr(r, m) for r in rows])) for m in METRICS}, "trials": len(rows)}

    out = {}
    for model in dict.fromkeys(r.model for r in results):
        rows = [r for r in results if r.model == model]
        per_object = {o: rates([r for r in rows if r.object == o]) for o in dict.fromkeys(r.object for r in rows)}
        out[model] = {**rates(rows), "objects": per_object}
    return out


def report(results: Sequence[TrialResult], config: DexEvalConfig, extra: dict | None = None) -> dict:
    """The JSON document: ``models`` (:func:`summarise`), ``config``, every ``trials`` record."""
    cfg = {k: v for k, v in asdict(config).items() if k != "planner"}
    return {"models": summarise(results), "config": cfg, **(extra or {}), "trials": [asdict(r) for r in results]}


def markdown_table(summary: dict) -> str:
    """Overall and per-object Suc / PTA / PGA (%) per model."""
    lines = ["| model | object | trials | Suc | PTA | PGA |", "|---|---|---|---|---|---|"]
    for model, s in summary.items():
        row = lambda label, r: (f"| {model} | {label} | {r['trials']} | "  # noqa: E731
                                + " | ".join(f"{100 * r[m]:.1f}" for m in METRICS) + " |")
        lines.append(row("**overall**", s))
        lines.extend(row(o, r) for o, r in s["objects"].items())
    return "\n".join(lines)
