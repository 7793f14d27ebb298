"""The realvlg ROS 2 package, built by colcon (ament_python) from a workspace holding the repository.

Everything comes from the repository (python/realvlg, python/training and the data folders are
links to it; name, version and console scripts are read from the root pyproject.toml, which `pip install`
uses), so both installs carry the same code, executables and data. Installs:

* the Python packages ``realvlg`` and ``training``;
* one executable per console script in ``lib/realvlg/`` (setup.cfg): ``ros2 run realvlg grasp_node``;
* ``share/realvlg/``: package.xml, launch/, config/, calibration/, models/ — where
  ``realvlg.graph.data_root`` finds them;
* the ament index marker ``share/ament_index/resource_index/packages/realvlg``.
"""

import os
import pathlib
import tomllib

from setuptools import find_namespace_packages, setup

PACKAGE = "realvlg"
HERE = pathlib.Path(__file__).resolve().parent        # the real folder, also when colcon links this file
PROJECT = tomllib.loads((HERE.parents[2] / "pyproject.toml").read_text())["project"]
DATA_DIRS = ("launch", "config", "calibration", "models")


def data_files() -> list[tuple[str, list[str]]]:
    """(install folder, files) for the ament index marker, package.xml and every file of the data
    folders, keeping their layout under share/realvlg."""
    os.chdir(HERE)   # setuptools wants paths relative to this file
    files = [("share/ament_index/resource_index/packages", [f"resource/{PACKAGE}"]),
             (f"share/{PACKAGE}", ["package.xml"])]
    for top in DATA_DIRS:
        for folder, dirs, names in os.walk(top, followlinks=True):
            dirs[:] = sorted(d for d in dirs if d != "__pycache__")
            if names:
                files.append((f"share/{PACKAGE}/{folder}", [f"{folder}/{n}" for n in sorted(names)]))
    return files


setup(
    name=PACKAGE,
    version=PROJECT["version"],
    description=PROJECT["description"],
    license="Apache-2.0",
    package_dir={"": "python"},   # python/realvlg, python/training: links to the repository's packages
    # as pyproject.toml's packages.find (namespace packages included: realvlg.ros.nodes has no __init__)
    packages=find_namespace_packages("python", include=["realvlg*", "training"], exclude=["*__pycache__"]),
    package_data={"training": ["configs/*.yaml", "configs/accelerate/*.yaml", "configs/accelerate/*.json"]},
    data_files=data_files(),
    zip_safe=False,
    # the ROS dependencies are in package.xml (rosdep); the Python ones in pyproject.toml (pip)
    install_requires=[],
    entry_points={"console_scripts": [f"{name} = {target}" for name, target in PROJECT["scripts"].items()]},
)
