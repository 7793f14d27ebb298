"""DexVLG behind the grasp attempt's planner interface: a labelled RGB-D frame and an instruction →
the Shadow Hand grasps that pass the ranking, best first (:mod:`realvlg.dexvlg.planner`)."""

from __future__ import annotations

import time

from realvlg.dexvlg.planner import DexGraspPlanner, DexScene, TargetNotFoundError
from realvlg.errors import GraspRefusedError, InvalidInputError
from realvlg.grasping.planner import Plan, PlanningError, failure_of
from realvlg.grounding.backend import refuse_reference
from realvlg.observation import RGBDFrame

STRATEGY = "dexvlg"


class DexPlanner:
    """Each call samples with a new seed, so a retry draws new grasps."""

    name = STRATEGY

    def __init__(self, planner: DexGraspPlanner, seed: int = 0):
        self.planner = planner
        self.seed = seed

    def strategies_for(self, strategy: str) -> list[str]:
        if strategy not in ("", "auto", STRATEGY):
            raise InvalidInputError(f"unknown strategy {strategy!r} for the Shadow Hand; expected auto or {STRATEGY}")
        return [STRATEGY]

    def plan(self, frame: RGBDFrame, instruction: str, strategy: str = "auto", reference=None) -> Plan:
        """Shadow Hand grasps for ``instruction``; DexVLG reads one image, so a ``reference`` photo
        is refused (InvalidInputError)."""
        refuse_reference("DexVLG", reference)
        self.strategies_for(strategy)
        t0 = time.perf_counter()
        self.seed += 1
        try:
            plan = self.planner.plan(DexScene.from_frame(frame), instruction, seed=self.seed)
        except TargetNotFoundError as exc:
            raise PlanningError(str(exc), timings={"plan": time.perf_counter() - t0}, not_found=True) from None
        except (GraspRefusedError, InvalidInputError) as exc:
            raise PlanningError(str(exc), timings={"plan": time.perf_counter() - t0},
                                failure=failure_of(exc)) from None
        timings = {"plan": time.perf_counter() - t0}
        if plan.best is None:
            raise PlanningError(plan.refusal, timings=timings)
        return Plan(STRATEGY, [r.grasp for r in plan.ranking.accepted], None,
                    f"the {plan.part} of the {plan.object}", timings=timings)
