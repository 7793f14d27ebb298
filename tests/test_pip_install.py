"""A non-editable `pip install .` finds its data without the checkout (issue 15 part 1): the wheel is
built from a copy of the repository's files, installed into a fresh venv (which borrows this
environment's dependencies through a .pth, so nothing is downloaded), and from another directory
the installed realvlg resolves parameter files, calibration, limits, models and the Fast DDS
profile under <venv>/share/realvlg, and run records under that directory."""

import json
import os
import pathlib
import shutil
import subprocess
import sys
import sysconfig
import textwrap

import pytest

REPO = pathlib.Path(__file__).resolve().parents[1]
# what the wheel is built from (pyproject's packages and data-files)
SOURCES = ("pyproject.toml", "README.md", "src", "training", "config", "launch", "calibration", "models",
           "ros2_ws/src/realvlg/package.xml", "ros2_ws/src/realvlg/resource")

pytestmark = pytest.mark.timeout(300)

PROBE = textwrap.dedent("""
    import json, pathlib, realvlg
    from realvlg.graph import data_root, plan_graph, run_path, share_path
    from realvlg.grounding import registry
    from realvlg.ros.process import fastdds_profile_path
    from realvlg.robots.limits import load_limits
    from realvlg.geometry.transforms import load_transform
    load_limits(share_path("config/limits_fr3.yaml"))
    load_transform(share_path("calibration/sim_fr3_wrist_camera.yaml"))
    print(json.dumps({
        "module": realvlg.__file__, "data_root": str(data_root()),
        "params": [p for spec in plan_graph() for p in spec.params_files],
        "embedded": str(registry.resolve("embedded-default")), "dexvlg": str(registry.resolve("dexvlg-sim")),
        "rviz": str(share_path("config/realvlg.rviz")), "fastdds": str(fastdds_profile_path()),
        "runs": str(run_path("runs")),
    }))
""")


def _ignore(folder, names):
    return [n for n in names if n in ("__pycache__", ".pytest_cache") or n.endswith(".egg-info")]


def test_a_non_editable_install_finds_its_data_from_another_directory(tmp_path):
    source = tmp_path / "source"
    for rel in SOURCES:
        src, dst = REPO / rel, source / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(src, dst, ignore=_ignore) if src.is_dir() else shutil.copy2(src, dst)
    wheels = tmp_path / "wheels"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "wheel", "--no-deps", "--no-build-isolation", "--no-index", str(source), "-w", str(wheels)],
                   check=True, capture_output=True, text=True, timeout=240)
    venv = tmp_path / "venv"
    subprocess.run([getattr(sys, "_base_executable", sys.executable), "-m", "venv", "--without-pip", str(venv)],
                   check=True, timeout=60)
    python = venv / "bin" / "python"
    site = pathlib.Path(subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                                       check=True, capture_output=True, text=True).stdout.strip())
    # dependencies from this environment, after the venv's own site-packages (realvlg comes from the venv;
    # --ignore-installed below: the borrowed site-packages hold the editable realvlg)
    borrowed = sysconfig.get_path("purelib")
    (site / "zz_borrow_dependencies.pth").write_text(f"import site; site.addsitedir({borrowed!r})\n")
    subprocess.run([*pip, "--python", str(python), "install", "--no-deps", "--no-index", "--ignore-installed",
                    *map(str, wheels.glob("*.whl"))], check=True, capture_output=True, text=True, timeout=120)
    shutil.rmtree(source)                                    # nothing left to read from but the install
    share = venv / "share" / "realvlg"
    assert (venv / "share" / "ament_index" / "resource_index" / "packages" / "realvlg").is_file()
    for node in ("grasp_node", "grounding_node", "sim_node", "executor_node"):
        assert (venv / "bin" / node).is_file(), node

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "REALVLG_SHARE")}
    done = subprocess.run([python, "-c", PROBE], cwd=elsewhere, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert pathlib.Path(found["module"]).is_relative_to(site)
    assert pathlib.Path(found["data_root"]) == share
    for key in ("embedded", "dexvlg", "rviz", "fastdds", *(f"params{i}" for i in range(len(found["params"])))):
        path = pathlib.Path(found[key] if key in found else found["params"][int(key[6:])])
        assert path.is_relative_to(share) and path.exists(), (key, path)
    assert pathlib.Path(found["runs"]) == elsewhere / "runs"
