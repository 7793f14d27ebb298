"""RealSense backend through real librealsense code: a software device with D435i-like intrinsics
records a plane-and-box scene to .db3 (rs.recorder), the backend plays it back (playback device)
and aligns depth to colour (rs.align); results are checked against an analytic ray cast of the
same scene from the colour camera."""

import time

import numpy as np
import pytest
from scipy import ndimage

from realvlg.cameras import (
    CameraError,
    CameraNotFoundError,
    CameraStreamError,
    CameraTimeoutError,
    EndOfRecordingError,
    make_camera,
)
from realvlg.cameras.realsense import RealSenseCamera, RealSenseCameraConfig, connected_serials
from realvlg.errors import InvalidInputError, RealVLGError

from synthetic_camera import (
    PlaneBoxScene,
    SoftwareDeviceRecording,
    color_image,
    d435i_rig,
    depth_image,
    record_scene,
    render_depth,
    with_frame_index,
)

FRAMES = 6
SCENE = PlaneBoxScene()


@pytest.fixture(scope="module")
def recording(tmp_path_factory):
    path = tmp_path_factory.mktemp("rs") / "scene.db3"
    rig = record_scene(path, frames=FRAMES, scene=SCENE)
    return path, rig


@pytest.fixture(scope="module")
def played(recording):
    """Every frame the backend plays back from the recording, until EndOfRecordingError."""
    path, _ = recording
    frames = []
    with RealSenseCamera.from_file(path) as cam:
        with pytest.raises(EndOfRecordingError):
            for _ in range(FRAMES + 5):
                frames.append(cam.read(timeout=2.0))
        return frames, cam.intrinsics, cam.depth_scale, dict(cam.device_info)


def expected_aligned_depth(rig):
    z, on_box = render_depth(SCENE, rig.color, rig.rotation, rig.translation)
    edges = ndimage.binary_dilation(on_box ^ ndimage.binary_erosion(on_box), iterations=4)
    return z, on_box, edges


def test_every_frame_comes_back_in_order_with_exact_colour(recording, played):
    _, rig = recording
    frames, _, _, _ = played
    assert [f.frame_number for f in frames] == list(range(FRAMES))
    base = color_image(SCENE, rig)
    for i, f in enumerate(frames):
        assert f.color.dtype == np.uint8 and f.color.shape == (720, 1280, 3)
        np.testing.assert_array_equal(f.color, with_frame_index(base, i))
        assert f.timestamp == pytest.approx(10.0 + i / 30, abs=1e-6)
        assert f.frame_id == "camera_color_optical_frame"


def test_depth_is_aligned_to_colour_in_metres(recording, played):
    _, rig = recording
    frames, _, _, _ = played
    z, on_box, edges = expected_aligned_depth(rig)
    depth = frames[-1].depth
    assert depth.dtype == np.float32 and depth.shape == (720, 1280)
    check = (depth > 0) & ~edges
    err = np.abs(depth[check] - z[check])
    assert check.mean() > 0.9
    assert np.median(err) < 0.0005 and np.percentile(err, 99.5) < 0.0015
    # the box top sits at 0.48 m where the *colour* camera sees it (unaligned depth would not)
    assert np.median(depth[on_box & ~edges]) == pytest.approx(SCENE.box_top_z, abs=0.001)
    raw_depth_view = depth_image(SCENE, rig) * rig.depth_scale
    assert np.mean(np.abs(raw_depth_view - depth) > 0.005) > 0.02


def test_invalid_depth_stays_zero_where_the_colour_camera_sees_the_hole(recording, played):
    _, rig = recording
    frames, _, _, _ = played
    u0, v0, u1, v1 = SCENE.hole
    u, v = (u0 + u1) / 2, (v0 + v1) / 2
    z, _ = render_depth(SCENE, rig.depth)
    d = rig.depth
    point = z[int(v), int(u)] * np.array([(u - d.cx) / d.fx, (v - d.cy) / d.fy, 1.0])
    x, y, w = rig.rotation @ point + rig.translation
    c = rig.color
    cu, cv = round(c.fx * x / w + c.cx), round(c.fy * y / w + c.cy)
    depth = frames[0].depth
    assert np.all(depth[cv - 10:cv + 11, cu - 10:cu + 11] == 0)
    assert 0.9 < frames[0].valid_depth_fraction < 1.0


def test_intrinsics_depth_scale_and_device_come_from_the_recording(recording, played):
    _, rig = recording
    frames, intrinsics, depth_scale, info = played
    c = rig.color
    assert (intrinsics.width, intrinsics.height) == (1280, 720)
    np.testing.assert_allclose([intrinsics.fx, intrinsics.fy, intrinsics.cx, intrinsics.cy],
                               [c.fx, c.fy, c.cx, c.cy], rtol=1e-6)
    assert frames[0].intrinsics == intrinsics
    assert depth_scale == pytest.approx(0.001)
    assert info["serial_number"] == "000000000000" and "D435I" in info["name"]


def test_848x480_depth_is_aligned_to_1280x720_colour(tmp_path):
    rig = record_scene(tmp_path / "d848.db3", frames=2, rig=d435i_rig(depth_size=(848, 480)), scene=SCENE)
    with RealSenseCamera.from_file(tmp_path / "d848.db3") as cam:
        frame = cam.read(timeout=2.0)
    z, _, edges = expected_aligned_depth(rig)
    assert frame.depth.shape == (720, 1280)
    check = (frame.depth > 0) & ~edges
    assert np.median(np.abs(frame.depth[check] - z[check])) < 0.001
    assert check.mean() > 0.9


def test_hole_filling_filter_fills_invalid_depth(recording, played):
    path, _ = recording
    frames, _, _, _ = played
    with make_camera(RealSenseCameraConfig(file=path, filters=("hole_filling",))) as cam:
        filtered = cam.read(timeout=2.0)
    assert filtered.valid_depth_fraction > frames[0].valid_depth_fraction
    assert filtered.valid_depth_fraction > 0.998


def test_no_frame_within_the_timeout_raises_timeout(tmp_path):
    """A recording where the camera stalls for 1.5 s after 4 frames, played at the recorded pace
    (real-time playback, like a live camera, may lose a frame while its sensors start)."""
    rig = d435i_rig(color_size=(640, 360), depth_size=(640, 360))
    depth, color = depth_image(SCENE, rig), color_image(SCENE, rig)
    with SoftwareDeviceRecording(tmp_path / "stall.db3", rig) as rec:
        for i in range(6):
            if i == 4:
                time.sleep(1.5)
            rec.write(i, depth, with_frame_index(color, i), 1.0 + i / 30)
            time.sleep(1 / 30)
    with RealSenseCamera.from_file(tmp_path / "stall.db3", real_time=True) as cam:
        before = [cam.read(timeout=2.0).frame_number]
        with pytest.raises(CameraTimeoutError, match="within 0.3 s") as info:
            while True:
                before.append(cam.read(timeout=0.3).frame_number)
        assert not isinstance(info.value, EndOfRecordingError)
        assert before == sorted(before) and before[-1] == 3
        assert cam.read(timeout=3.0).frame_number >= 4


def test_recording_without_depth_is_refused(tmp_path):
    rig = d435i_rig()
    with SoftwareDeviceRecording(tmp_path / "color_only.db3", rig, streams=("color",)) as rec:
        for i in range(3):
            rec.write(i, None, color_image(SCENE, rig), 1.0 + i / 30)
    cam = RealSenseCamera.from_file(tmp_path / "color_only.db3")
    with pytest.raises(CameraStreamError, match="no Z16 depth stream .*Color rgb8 1280x720@30"):
        cam.open()
    assert not cam.is_open


def test_missing_or_unreadable_recording(tmp_path):
    with pytest.raises(CameraNotFoundError, match="no RealSense recording"):
        RealSenseCamera.from_file(tmp_path / "nothing.db3").open()
    (tmp_path / "junk.db3").write_bytes(b"not a recording")
    with pytest.raises(CameraStreamError, match="not a readable librealsense recording"):
        RealSenseCamera.from_file(tmp_path / "junk.db3").open()


def test_live_camera_with_unknown_serial_is_not_found():
    if connected_serials():
        pytest.skip("a RealSense device is connected")
    with pytest.raises(CameraNotFoundError, match="no RealSense device connected"):
        RealSenseCamera(RealSenseCameraConfig(serial="123456789012")).open()


def test_bad_config_and_reading_closed_camera():
    with pytest.raises(InvalidInputError, match="unknown depth filter"):
        RealSenseCamera(RealSenseCameraConfig(filters=("median",)))
    with pytest.raises(InvalidInputError, match="unknown RealSense profile"):
        RealSenseCamera(RealSenseCameraConfig(profile="d455"))
    with pytest.raises(CameraError, match="not open"):
        RealSenseCamera(RealSenseCameraConfig()).read()
    assert issubclass(CameraTimeoutError, RealVLGError)


def test_pairs_further_apart_than_the_skew_tolerance_are_skipped(tmp_path):
    rig = d435i_rig(color_size=(640, 360), depth_size=(640, 360))
    depth, color = depth_image(SCENE, rig), color_image(SCENE, rig)
    with SoftwareDeviceRecording(tmp_path / "skewed.db3", rig) as rec:
        for i in range(4):  # depth 30 ms after its colour image: beyond 0.75 of a 30 Hz period
            rec.write(i, None, with_frame_index(color, i), 1.0 + i / 10)
            rec.write(i, depth, None, 1.03 + i / 10)
    with RealSenseCamera.from_file(tmp_path / "skewed.db3") as cam:
        with pytest.raises(EndOfRecordingError):
            cam.read(timeout=2.0)
    with RealSenseCamera.from_file(tmp_path / "skewed.db3", max_pair_skew=0.04) as cam:
        frame = cam.read(timeout=2.0)
        assert frame.color[0, 0, 0] == frame.frame_number
