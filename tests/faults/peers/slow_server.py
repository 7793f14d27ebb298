"""Peer: a node served by realvlg's ``run_node`` (so announced with its liveliness writers) whose
``std_srvs/Trigger`` service ``/fault_peer/slow`` answers after ``argv[1]`` seconds — a dependency
busy with a request when the test kills it."""

import sys
import time

from rclpy.node import Node
from std_srvs.srv import Trigger

from realvlg.ros.spin import answer_always, run_node


class SlowServer(Node):
    def __init__(self):
        super().__init__("fault_peer")
        self.delay = float(sys.argv[1])
        self.create_service(Trigger, "/fault_peer/slow", answer_always(self, self._on_call))

    def _on_call(self, request, response):
        time.sleep(self.delay)
        response.success, response.message = True, "done"
        return response


if __name__ == "__main__":
    run_node(SlowServer, "fault_peer", args=sys.argv[:1])
