"""An RTDE stand-in controller that a test disturbs from outside the executor_node process, by
signal: ``rtde_interfaces`` = ``rtde_signalled:signalled_controller``.

* SIGUSR1 toggles a protective stop: set — the arm stops where it is and the control script ends,
  as on a UR; cleared (the teach pendant's "unlock") — normal mode, the script stays ended until
  the next connection uploads it.
* SIGUSR2 toggles the connection: dropped — ``isConnected`` is False and reads answer the last
  values (ur_rtde's behaviour); restored.

One controller for the process's life (a reconnect reaches the same one), at the UR10e
observation pose; a motion takes ``MOTION_POLLS`` progress polls (set ``rtde.poll_period`` to give
it a duration). Every command and event is printed as ``STANDIN <what>`` on stdout. The handlers
are installed when executor_node loads this module (its main thread).
"""

from __future__ import annotations

import signal

from realvlg.robots.ur10e_shadow.config_ur10e_shadow import UR10E_OBSERVATION_Q

from rtde_standin import NORMAL_MODE, ControllerState, StandInControl, StandInReceive

MOTION_POLLS = 100
PROTECTIVE_STOP = 1 << 2 | 1 << 10   # protective stop, stopped due to safety


class PrintingLog(list):
    def append(self, command):
        print("STANDIN", command[0], flush=True)
        super().append(command)


STATE = ControllerState(UR10E_OBSERVATION_Q, motion_polls=MOTION_POLLS)
STATE.commands = PrintingLog()


def _toggle_stop(signum, frame):
    if STATE.safety_bits == NORMAL_MODE:
        STATE.safety_bits, STATE.motion, STATE.program_running = PROTECTIVE_STOP, None, False
        print("STANDIN event protective_stop", flush=True)
    else:
        STATE.safety_bits = NORMAL_MODE
        print("STANDIN event stop_cleared", flush=True)


def _toggle_connection(signum, frame):
    STATE.connected = not STATE.connected
    print(f"STANDIN event {'reconnected' if STATE.connected else 'disconnected'}", flush=True)


signal.signal(signal.SIGUSR1, _toggle_stop)
signal.signal(signal.SIGUSR2, _toggle_connection)


def signalled_controller(config):
    """The stand-in interfaces over :data:`STATE`; a new connection starts the control script."""
    STATE.program_running = True
    return StandInControl(STATE), StandInReceive(STATE)
