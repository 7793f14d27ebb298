"""The grasp attempt's executor when the robot runs in its own node: ``check`` and ``grasp`` of
:class:`~realvlg.grasping.attempt.GraspExecutor` as ``ExecuteGrasp`` calls (``dry_run`` for the
check), the response codes mapped back to the exceptions and results an in-process
:class:`~realvlg.robots.executor.Executor` gives."""

from __future__ import annotations

import math

from std_srvs.srv import Trigger

from realvlg.errors import GraspRefusedError, UnreachableError
from realvlg.geometry.grasps import DexGrasp, Grasp
from realvlg.robots.executor import GraspResult, RobotConnectionError
from realvlg.ros.conversions import grasp_to_pose_stamped
from realvlg.ros.liveness import ServiceWatch, call_with_timeout
from realvlg.ros.names import HOME_SERVICE
from realvlg_interfaces.srv import ExecuteGrasp


def execute_request(grasp: Grasp, dry_run: bool, stamp) -> ExecuteGrasp.Request:
    hand = isinstance(grasp, DexGrasp)
    return ExecuteGrasp.Request(pose=grasp_to_pose_stamped(grasp, stamp),
                                width=math.nan if hand else float(grasp.width),
                                hand_joints=[float(v) for v in grasp.joints] if hand else [],
                                dry_run=bool(dry_run))


class ExecutorClient:
    def __init__(self, node, service: str, timeout: float, callback_group=None, home_service: str = HOME_SERVICE):
        self.node, self.timeout = node, timeout
        self.server, self.home_server = f"the executor ({service})", f"the executor's home ({home_service})"
        self.client = node.create_client(ExecuteGrasp, service, callback_group=callback_group)
        self.home_client = node.create_client(Trigger, home_service, callback_group=callback_group)
        self.watch = ServiceWatch(node, service, callback_group)

    def _call(self, grasp: Grasp, dry_run: bool):
        request = execute_request(grasp, dry_run, self.node.get_clock().now().to_msg())
        response = call_with_timeout(self.client, request, self.timeout, self.server, self.watch)
        if response.code == ExecuteGrasp.Response.REFUSED:
            raise GraspRefusedError(response.message)
        if response.code == ExecuteGrasp.Response.UNREACHABLE:
            raise UnreachableError(response.message)
        if response.code == ExecuteGrasp.Response.ROBOT_ERROR and response.stage in ("", "connect"):
            raise RobotConnectionError(response.message)
        return response

    def check(self, grasp: Grasp) -> None:
        response = self._call(grasp, True)
        if not response.success:
            raise RobotConnectionError(f"the executor could not check the grasp: {response.message}")

    def grasp(self, grasp: Grasp) -> GraspResult:
        r = self._call(grasp, False)
        # whether the hand holds something is known once the sequence reached its final check
        return GraspResult(r.success, "" if r.success else r.message, r.stage or "done",
                           timings={t.stage: t.seconds for t in r.timings},
                           holding=r.holding if r.stage in ("check", "done") else None,
                           fault=r.code not in (ExecuteGrasp.Response.DONE, ExecuteGrasp.Response.FAILED))

    def home(self) -> None:
        response = call_with_timeout(self.home_client, Trigger.Request(), self.timeout, self.home_server, self.watch)
        if not response.success:
            raise RobotConnectionError(f"the robot could not go home: {response.message}")
