"""Hypothesis strategies of malformed ROS messages — NaN/inf everywhere, empty, huge and odd
strings and frames, images whose size, step, encoding and data disagree, huge arrays — and
:func:`fuzz_calls`, which sends them to a service and checks each answer is a refusal by the
service's own validation (tests/faults, tests/ros)."""

from geometry_msgs.msg import PoseStamped
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sensor_msgs.msg import Image

from realvlg.frames import FR3_BASE_FRAME

ANY_FLOAT = st.floats(allow_nan=True, allow_infinity=True) | st.sampled_from([0.0, -0.0, 1e308, -1e-308])
TEXT = st.text(max_size=30) | st.sampled_from(["", " ", "\x00", "x" * 100_000, "grasp the banana", FR3_BASE_FRAME])
ENCODING = st.sampled_from(["rgb8", "bgr8", "rgba8", "mono8", "16UC1", "32FC1", "yuv422", "bayer_rggb8", ""]) | st.text(max_size=8)


@st.composite
def images(draw):
    """An Image whose size, step, encoding and data need not agree (or be huge with no data)."""
    return Image(height=draw(st.integers(0, 5000)), width=draw(st.integers(0, 5000)), encoding=draw(ENCODING),
                 is_bigendian=draw(st.integers(0, 1)), step=draw(st.integers(0, 2**32 - 1)),
                 data=b"\x00" * draw(st.integers(0, 64) | st.just(300)))


@st.composite
def poses(draw):
    pose = PoseStamped()
    pose.header.frame_id = draw(TEXT)
    p, q = pose.pose.position, pose.pose.orientation
    p.x, p.y, p.z = (draw(ANY_FLOAT | st.floats(-1, 1)) for _ in range(3))
    q.x, q.y, q.z, q.w = (draw(ANY_FLOAT | st.floats(-1, 1)) for _ in range(4))
    return pose


def codes(response_type) -> set[int]:
    return {v for k, v in vars(response_type).items() if k.isupper() and isinstance(v, int) and k != "ERROR"}


def fuzz_calls(call, requests, valid, examples: int = 15) -> list:
    """``call(request)`` for ``examples`` generated ``requests`` (derandomized: CI repeats them);
    each response must satisfy ``valid`` — a refusal by the service's own validation, never the
    catch-all ERROR of ``realvlg.ros.spin.answer_always`` (an exception it had to catch is a
    missing check). Returns the responses."""
    answered = []

    @settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
    @given(requests)
    def one(request):
        response = call(request)
        assert valid(response), f"{getattr(response, 'code', '')} {response.message}"
        answered.append(response)

    one()
    return answered
