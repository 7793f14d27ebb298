"""Calling a node's service from a test (client from the ``ros`` fixture in conftest.py): fails with
the node's output tail instead of hanging; spinning a test executor until a condition holds."""

import time

START_TIMEOUT, DISCOVERY_TIMEOUT, CALL_TIMEOUT = 90.0, 60.0, 30.0


def call(node, executor, client, request, peer):
    assert client.wait_for_service(timeout_sec=DISCOVERY_TIMEOUT), f"no service; node:\n{peer.tail()}"
    future = client.call_async(request)
    executor.spin_until_future_complete(future, timeout_sec=CALL_TIMEOUT)
    assert future.done(), f"no answer within {CALL_TIMEOUT} s; node:\n{peer.tail()}"
    return future.result()


def spin_until(executor, done, timeout: float) -> None:
    """Spin ``executor`` until ``done()`` or ``timeout`` seconds have passed."""
    deadline = time.monotonic() + timeout
    while not done() and time.monotonic() < deadline:
        executor.spin_once(timeout_sec=0.1)
