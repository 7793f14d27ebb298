"""The multi-threaded executor realvlg's nodes spin.

rclpy's ``MultiThreadedExecutor`` (before rclpy#1547) hands out a callback again while it still
waits in the thread pool's queue: as long as one callback runs long (a grasp request blocks for
seconds) and messages keep arriving, the spin loop never blocks and burns a core the simulator's
real-time physics needs (rclpy#1452). :class:`DispatchingExecutor` waits until each dispatched
callback has started before it looks for more work, so nothing is handed out twice and the loop
sleeps in the wait set like the single-threaded one.
"""

from __future__ import annotations

import threading

from rclpy.executors import (
    ConditionReachedException,
    ExternalShutdownException,
    MultiThreadedExecutor,
    ShutdownException,
    TimeoutException,
)


class DispatchingExecutor(MultiThreadedExecutor):
    def _spin_once_impl(self, timeout_sec=None, wait_condition=lambda: False) -> None:
        try:
            handler, _, _ = self.wait_for_ready_callbacks(timeout_sec, None, wait_condition)
        except (ExternalShutdownException, ShutdownException, TimeoutException, ConditionReachedException):
            return
        started = threading.Event()

        def run():
            started.set()
            handler()

        self._executor.submit(run)
        self._futures.append(handler)
        while not started.wait(0.1):  # a free worker picks it up at once; when all are busy, wait for one
            if self._is_shutdown:
                return
        for future in self._futures[:]:
            if future.done():
                self._futures.remove(future)
                future.result()  # raise any exceptions
