"""Simulation: the two robots of the project in MuJoCo, on a table with the paper's ten test
objects and an eye-in-hand RGB-D camera.

* :mod:`realvlg.objects` — the ten objects (geometry, physics, names, colours, parts,
  ground-truth grasps).
* :mod:`realvlg.sim.common` — what both worlds share: placements, the success check, the wrist
  camera model and the labelled render (:class:`~realvlg.observation.RGBDFrame`).
* :mod:`realvlg.sim.fr3_world` — :class:`~realvlg.sim.fr3_world.FR3World`: franky-sim's FR3 +
  Franka hand serving the real libfranka protocol on a loopback address (start/stop, render,
  poses, success check, reflex injection); the camera mount and observation pose.
* :mod:`realvlg.sim.ur10e_shadow_world` — :class:`~realvlg.sim.ur10e_shadow_world.UR10eShadowWorld`:
  the UR10e + Shadow Hand, and the simulated backend under the shared UR10e + Shadow grasp stages.
* :mod:`realvlg.sim.scenes` — seeded scenes for the ``single`` and ``clutter`` settings.
* :mod:`realvlg.sim.eval` / :mod:`realvlg.sim.dex_eval` — closed-loop evaluations of each robot.

See docs/sim.md. Importing the package sets ``MUJOCO_GL=egl`` (headless; osmesa also works, apt
libosmesa6) unless it is set, before any of its modules imports MuJoCo.
"""

import os

os.environ.setdefault("MUJOCO_GL", "egl")
