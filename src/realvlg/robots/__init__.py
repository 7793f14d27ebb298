"""Robot executors behind one interface (:mod:`~realvlg.robots.executor`), one folder per robot:
:mod:`~realvlg.robots.franka` (franky: FR3 + Franka hand) and :mod:`~realvlg.robots.ur10e_shadow`
(ur_rtde + the Shadow Robot driver, or the MuJoCo twin). :mod:`~realvlg.robots.limits`: the
workspace / approach / width checks the planner and the executors share."""
