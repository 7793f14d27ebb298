"""ros2 launch realvlg grasp.launch.py [robot:=sim|franka|ur10e] [camera:=sim|realsense|replay] [grounding:=embedded|vlm|oracle]
                                       [hand:=franka|shadow]

Starts the same nodes with the same parameter files as `realvlg up` (both read
realvlg.graph.plan_graph), for machines with a full ROS 2 install (launch, launch_ros).
"""

from launch.actions import DeclareLaunchArgument, OpaqueFunction
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

from launch import LaunchDescription
from realvlg.graph import CAMERAS, GROUNDINGS, HANDS, REPO_ROOT, ROBOTS, plan_graph


def _nodes(context):
    choice = {name: LaunchConfiguration(name).perform(context) for name in ("robot", "camera", "grounding", "hand")}
    actions = []
    for spec in plan_graph(**choice):
        # launch_ros runs a node by package + executable; realvlg's nodes are python modules.
        actions.append(Node(executable="python3", arguments=["-m", spec.module], name=spec.name,
                            parameters=[*spec.params_files, spec.overrides], cwd=str(REPO_ROOT), output="screen"))
    return actions


def generate_launch_description():
    return LaunchDescription([
        DeclareLaunchArgument("robot", default_value="sim", choices=list(ROBOTS)),
        DeclareLaunchArgument("camera", default_value="sim", choices=list(CAMERAS)),
        DeclareLaunchArgument("grounding", default_value="embedded", choices=list(GROUNDINGS)),
        DeclareLaunchArgument("hand", default_value="franka", choices=list(HANDS)),
        OpaqueFunction(function=_nodes),
    ])
