"""Stream synchronisation and robot pose at capture time."""

import threading
import time

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from realvlg.geometry.transforms import Transform
from realvlg.grasping.capture import CaptureError, PoseHistory, StreamSynchronizer


def test_newest_complete_set_by_stamp():
    sync = StreamSynchronizer(("color", "depth", "info"), tolerance=1e-3)
    for t in (1.0, 2.0, 3.0):
        sync.add("color", t, f"c{t}")
        sync.add("info", t, f"i{t}")
    sync.add("depth", 1.0, "d1")
    sync.add("depth", 2.0005, "d2")   # within tolerance of 2.0; 3.0 has no depth yet
    stamp, msgs = sync.wait(0.1)
    assert stamp == 2.0 and msgs == {"color": "c2.0", "depth": "d2", "info": "i2.0"}
    with pytest.raises(CaptureError, match="within 0.1 s"):
        sync.wait(0.1, newer_than=2.0)


def test_wait_returns_when_a_set_completes_and_names_silent_streams():
    sync = StreamSynchronizer(("color", "depth"))
    threading.Timer(0.05, lambda: (sync.add("color", 5.0, "c"), sync.add("depth", 5.0, "d"))).start()
    t0 = time.monotonic()
    assert sync.wait(2.0)[0] == 5.0 and time.monotonic() - t0 < 1.5
    empty = StreamSynchronizer(("color", "depth"))
    empty.add("color", 1.0, "c")
    with pytest.raises(CaptureError, match="nothing received on depth"):
        empty.wait(0.05)
    labelled = StreamSynchronizer(("color", "depth"), labels={"depth": "/cam/aligned"})
    labelled.add("color", 1.0, "c")
    with pytest.raises(CaptureError, match=r"nothing received on /cam/aligned$") as caught:
        labelled.wait(0.05)
    assert caught.value.silent == ("depth",)
    stopped = StreamSynchronizer(("color", "depth"))   # a camera that stopped: only frames before the request
    stopped.add("color", 1.0, "c")
    stopped.add("depth", 1.0, "d")
    with pytest.raises(CaptureError, match=r"only older frames on color, depth \(newest 0.5 s before") as caught:
        stopped.wait(0.05, newer_than=1.5)
    assert caught.value.silent == ("color", "depth")


def _pose(x, yaw):
    m = np.eye(4)
    m[:3, :3] = Rotation.from_euler("z", yaw).as_matrix()
    m[0, 3] = x
    return m


def test_pose_history_interpolates_and_refuses_stale_poses():
    history = PoseHistory("fr3_link0", "fr3_hand_tcp")
    with pytest.raises(CaptureError, match="no robot pose"):
        history.at(0.0)
    assert history.first_stamp is None
    history.add(1.0, _pose(0.0, 0.0))
    history.add(1.1, _pose(0.1, 0.2))
    history.add(1.05, _pose(9.0, 9.0))  # out of order: ignored
    assert history.first_stamp == 1.0
    mid = history.at(1.05)
    assert mid.parent == "fr3_link0" and mid.child == "fr3_hand_tcp"
    np.testing.assert_allclose(mid.matrix[0, 3], 0.05)
    np.testing.assert_allclose(Rotation.from_matrix(mid.matrix[:3, :3]).as_euler("xyz")[2], 0.1)
    np.testing.assert_allclose(history.at(1.12).matrix, _pose(0.1, 0.2))  # after the last: nearest
    with pytest.raises(CaptureError, match="0.400 s away"):
        history.at(1.5, max_gap=0.05)


def test_a_robot_at_rest_places_images_across_long_gaps_and_capture_can_wait_for_poses():
    history = PoseHistory("base", "tcp")
    history.add(1.0, _pose(0.2, 0.1))
    threading.Timer(0.05, lambda: history.add(3.0, _pose(0.2, 0.1))).start()
    assert history.wait_past(2.0, timeout=2.0)
    np.testing.assert_allclose(history.at(2.0, max_gap=0.05).matrix, _pose(0.2, 0.1))   # at rest: fine
    history.add(5.0, _pose(0.3, 0.1))
    with pytest.raises(CaptureError):
        history.at(4.0, max_gap=0.05)                                                   # moving: refused
    assert not history.wait_past(9.0, timeout=0.05)


def test_frames_that_cannot_be_placed_report_why_not_a_timeout():
    """Frames arrive, but the camera driver's frames (camera_link → optical) never did: the capture
    names that, not the end of the stream it waited on for a placeable frame."""
    from types import SimpleNamespace

    from realvlg.grasping.capture import CaptureConfig, FrameCapture

    mount = Transform.from_translation_quaternion([0.5, 0, 0.6], [0, 0, 0, 1], "fr3_link0", "camera_link")
    capture = FrameCapture(mount, "fr3_link0", "fr3_hand_tcp", CaptureConfig(camera_mount="fixed", capture_timeout=0.3))
    image = SimpleNamespace(header=SimpleNamespace(frame_id="camera_color_optical_frame"))
    for stream in ("color", "depth", "info"):
        capture.sync.add(stream, 1.0, image)
    with pytest.raises(CaptureError, match="the camera's own frames are unknown"):
        capture.capture(now=0.0)
