"""Simulation: franky-sim's MuJoCo FR3 + Franka hand on a table with the paper's ten test objects
and an eye-in-hand RGB-D camera, serving the real libfranka protocol on a loopback address.

* :mod:`realvlg.objects` — the ten objects (geometry, physics, names, colours, parts,
  ground-truth grasps).
* :mod:`realvlg.sim.world` — :class:`~realvlg.sim.world.SimWorld` (start/stop, render, poses,
  success check, reflex injection); the camera mount and observation pose.
* :mod:`realvlg.sim.scenes` — seeded scenes for the ``single`` and ``clutter`` settings.

See docs/sim.md. Importing :mod:`realvlg.sim.world` sets ``MUJOCO_GL=egl`` unless it is set.
"""
