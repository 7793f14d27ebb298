"""Robot executors: :mod:`~realvlg.robots.executor` (the interface), :mod:`~realvlg.robots.limits`
(workspace / approach / width checks), :mod:`~realvlg.robots.franka` (franky, FR3 + Franka hand)."""
