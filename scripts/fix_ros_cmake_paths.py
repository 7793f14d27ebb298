"""Point the ROS 2 wheels' exported CMake files at this machine's Python and numpy headers.

The PyPI wheels are built in a manylinux container; their ``share/**/*.cmake`` files keep that
container's include paths, which do not exist here. Usage: ``python fix_ros_cmake_paths.py VENV``.
"""

import pathlib
import sys
import sysconfig

import numpy

REPLACEMENTS = {
    "/opt/python/cp311-cp311/include/python3.11": sysconfig.get_paths()["include"],
    "/opt/python/cp311-cp311/lib/python3.11/site-packages/numpy/_core/include": numpy.get_include(),
}


def main(venv: str) -> None:
    changed = 0
    for path in pathlib.Path(venv, "share").rglob("*.cmake"):
        text = path.read_text(errors="surrogateescape")
        fixed = text
        for old, new in REPLACEMENTS.items():
            fixed = fixed.replace(old, new)
        if fixed != text:
            path.write_text(fixed, errors="surrogateescape")
            changed += 1
    print(f"patched {changed} CMake files")


if __name__ == "__main__":
    main(sys.argv[1])
