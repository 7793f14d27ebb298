"""UR10e closed-form IK against the DH forward kinematics: round trips, branch choice, refusals."""

import math

import numpy as np
import pytest

from realvlg.errors import InvalidInputError
from realvlg.robots.ur10e_shadow.kinematics import (
    UR10E_REACH,
    forward_kinematics,
    ik_candidates,
    solve_ik,
)


def _random_q(n, seed=0):
    return np.random.default_rng(seed).uniform(-math.pi, math.pi, (n, 6))


def test_every_branch_reproduces_the_pose_and_one_is_the_original():
    q = _random_q(500)
    T = forward_kinematics(q)
    cand = ik_candidates(T)
    valid = ~np.isnan(cand).any(-1)
    assert valid.sum(-1).min() >= 1
    err = np.abs(forward_kinematics(np.nan_to_num(cand)) - T[:, None]).max(axis=(-1, -2))
    assert err[valid].max() < 1e-9
    wrapped = np.abs(np.angle(np.exp(1j * (cand - q[:, None])))).max(-1)
    assert (np.nan_to_num(wrapped, nan=9.0) < 1e-7).any(-1).all()


def test_solve_ik_round_trip_and_nearest_branch():
    q = _random_q(300, seed=1)
    T = forward_kinematics(q)
    sol = solve_ik(T, q_near=q + 0.05)
    assert sol.reachable.all()
    assert np.abs(forward_kinematics(sol.q) - T).max() < 1e-9
    # the branch nearest the reference is the original configuration
    assert np.abs(sol.q - q).max() < 1e-7


def test_limits_move_angles_by_whole_turns_or_refuse():
    q = np.array([0.3, -1.2, 1.5, -1.9, -1.57, 0.4])
    T = forward_kinematics(q)
    sol = solve_ik(T, q_near=q - [2 * math.pi, 0, 0, 0, 0, 0])
    assert sol.reachable and np.isclose(sol.q[0], q[0] - 2 * math.pi)
    tight_min, tight_max = np.full(6, -0.1), np.full(6, 0.1)
    refused = solve_ik(T, q_near=q, q_min=tight_min, q_max=tight_max)
    assert not refused.reachable and np.isnan(refused.q).all()


def test_poses_beyond_reach_are_unreachable():
    T = np.tile(np.eye(4), (3, 1, 1))
    T[0, :3, 3] = [UR10E_REACH + 0.3, 0.0, 0.2]       # beyond the arm's reach
    T[1, :3, 3] = [0.0, 0.0, 1.6]                     # straight above, too high
    T[2, :3, 3] = [0.8, 0.3, 0.4]                     # reachable, tool pointing up
    sol = solve_ik(T)
    assert sol.reachable.tolist() == [False, False, True]
    assert np.abs(forward_kinematics(sol.q[2]) - T[2]).max() < 1e-9


def test_bad_input_is_refused():
    with pytest.raises(InvalidInputError):
        solve_ik(np.eye(3))
    T = np.eye(4)
    T[0, 3] = np.nan
    with pytest.raises(InvalidInputError):
        solve_ik(T)
