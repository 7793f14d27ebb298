"""A client of a running realvlg graph, in a Context of its own: ``/grasp``, the executor's home,
and in simulation ``/sim/reset`` and ``/sim/check_grasp``. Used by ``realvlg grasp``,
``realvlg demo``, ``realvlg sim-eval`` and the tests. Each call watches its server's liveliness
(:class:`~realvlg.ros.liveness.ServiceWatch`): a server that dies or freezes during the call fails it
within ~1 s (the lease) instead of at the caller's timeout; a call made after such a death waits up
to :data:`RESTART_WAIT` s for the supervisor's restart before it is refused."""

from __future__ import annotations

import rclpy
from rclpy.context import Context
from rclpy.executors import SingleThreadedExecutor
from std_srvs.srv import Trigger

from realvlg.grounding.backend import BackendError
from realvlg.ros import names
from realvlg.ros.conversions import image_to_msg
from realvlg.ros.liveness import ServiceWatch, call_with_timeout
from realvlg_interfaces.srv import Grasp, SimCheckGrasp, SimReset

RESTART_WAIT = 10.0  # s: a server that died before a call may take this long to be back (respawn 2 s + start)
_DRAIN = 16          # ready callbacks run before a call (liveliness events of every watch, a test's subscriptions)


class GraphClient:
    def __init__(self, node_name: str = "realvlg_client", wait: float = 15.0):
        self.wait = wait
        self.context = Context()
        rclpy.init(context=self.context)
        self.node = rclpy.create_node(node_name, context=self.context)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        self._clients: dict[str, tuple] = {}   # service → (client, ServiceWatch)

    def call(self, srv_type, name: str, request, timeout: float = 60.0):
        """Call ``name`` and return the response; BackendError when the service is absent, silent
        for ``timeout`` s, or its server dies (or freezes) during the call."""
        if name not in self._clients:
            self._clients[name] = (self.node.create_client(srv_type, name), ServiceWatch(self.node, name))
        client, watch = self._clients[name]
        server = "the grasp node" if name == names.GRASP_SERVICE else f"the server of {name}"
        if not client.wait_for_service(timeout_sec=self.wait):
            hint = " start it with `realvlg up`" if name == names.GRASP_SERVICE else ""
            raise BackendError(f"the realvlg graph is not running (no {name} service after {self.wait:.0f} s):{hint}")
        kept = " (its run folder keeps what was recorded)" if name == names.GRASP_SERVICE else ""
        self._take_ready()   # the liveliness news heard since this client last spun, before its watch is asked
        return call_with_timeout(client, request, timeout, server, watch, spin=self._spin,
                                 after_death=f"; no answer will come{kept}", restart=RESTART_WAIT)

    def _spin(self, seconds: float) -> None:
        self.executor.spin_once(timeout_sec=seconds)

    def _take_ready(self) -> None:
        """Run the callbacks ready now (at most ``_DRAIN``), without waiting."""
        for _ in range(_DRAIN):
            self.executor.spin_once(timeout_sec=0.0)

    def grasp(self, instruction: str, strategy: str = "auto", dry_run: bool = False, timeout: float = 600.0,
              reference=None):
        """``/grasp``; ``reference``: an RGB uint8 photo of the object (UniVG-R1's multi-image form)."""
        request = Grasp.Request(instruction=instruction, strategy=strategy, dry_run=dry_run)
        if reference is not None:
            request.reference = image_to_msg(reference, "rgb8")
        return self.call(Grasp, names.GRASP_SERVICE, request, timeout)

    def home(self, timeout: float = 120.0):
        return self.call(Trigger, names.HOME_SERVICE, Trigger.Request(), timeout)

    def reset_scene(self, setting: str, objects: list[str], seed: int, timeout: float = 60.0):
        return self.call(SimReset, names.SIM_RESET_SERVICE, SimReset.Request(setting=setting, objects=objects, seed=seed), timeout)

    def check_grasp(self, obj: str, min_lift: float = 0.05, hold_s: float = 2.0, timeout: float = 60.0):
        return self.call(SimCheckGrasp, names.SIM_CHECK_GRASP_SERVICE,
                         SimCheckGrasp.Request(object=obj, min_lift=min_lift, hold_s=hold_s), timeout)

    def close(self) -> None:
        self.executor.shutdown()
        self.node.destroy_node()
        self.context.try_shutdown()

    def __enter__(self) -> "GraphClient":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
