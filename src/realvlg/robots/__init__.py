"""Robot executors: :mod:`~realvlg.robots.executor` (the interface), :mod:`~realvlg.robots.limits`
(workspace / approach / width checks), :mod:`~realvlg.robots.franka` (franky, FR3 + Franka hand),
:mod:`~realvlg.robots.ur10e` (ur_rtde, UR10e arm) and :mod:`~realvlg.robots.shadow_hand` (Shadow
Hand joint trajectories)."""
