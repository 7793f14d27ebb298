"""The result codes of the attempt core and of the interfaces are the same names and numbers."""

from realvlg.grasping.attempt import ResultCode
from realvlg_interfaces.action import Grasp as GraspAction
from realvlg_interfaces.srv import Grasp


def test_grasp_service_and_action_codes_match_the_core():
    for message in (Grasp.Response, GraspAction.Result):
        constants = {name: getattr(message, name) for name in dir(message)
                     if name.isupper() and isinstance(getattr(message, name), int)}
        assert constants == {code.name: code.value for code in ResultCode}, message
