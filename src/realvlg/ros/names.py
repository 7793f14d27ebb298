"""Topic, service and frame names of the realvlg graph, in one place.

Camera topics follow realsense-ros (:mod:`realvlg.cameras.topics`); TF follows REP-105 with the
Franka names (``fr3_link0`` base, ``fr3_hand_tcp`` end effector = realvlg's gripper frame).
"""

from realvlg.cameras.topics import (  # noqa: F401  (re-exported: one import for node code)
    ALIGNED_DEPTH_IMAGE_TOPIC,
    ALIGNED_DEPTH_INFO_TOPIC,
    COLOR_IMAGE_TOPIC,
    COLOR_INFO_TOPIC,
)
from realvlg.frames import COLOR_OPTICAL_FRAME, FR3_BASE_FRAME, FR3_TCP_FRAME  # noqa: F401
from realvlg.grasping.record import REFERENCE_IMAGE_TOPIC  # noqa: F401  (the run bags' topics: record.py)

# The user-facing entry points
GRASP_SERVICE = "/grasp"                      # realvlg_interfaces/srv/Grasp
GRASP_ACTION = "/grasp"                       # realvlg_interfaces/action/Grasp (same name, action namespace)

# Between nodes
GROUND_SERVICE = "/realvlg/ground"            # realvlg_interfaces/srv/Ground (grounding_node)
SIM_GROUND_SERVICE = "/sim/ground"            # the simulation oracle, served by sim_node
SIM_RESET_SERVICE = "/sim/reset"              # realvlg_interfaces/srv/SimReset (sim_node)
SIM_CHECK_GRASP_SERVICE = "/sim/check_grasp"  # realvlg_interfaces/srv/SimCheckGrasp (sim_node)
EXECUTE_GRASP_SERVICE = "/realvlg/execute_grasp"   # realvlg_interfaces/srv/ExecuteGrasp
HOME_SERVICE = "/realvlg/home"                # std_srvs/srv/Trigger
EE_POSE_TOPIC = "/realvlg/ee_pose"            # geometry_msgs/PoseStamped, base←TCP, published by the executor
JOINT_STATES_TOPIC = "/joint_states"          # sensor_msgs/JointState
DIAGNOSTICS_TOPIC = "/diagnostics"            # diagnostic_msgs/DiagnosticArray (ROS convention)
ROBOT_STATUS_TOPIC = "/realvlg/robot_status"  # diagnostic_msgs/DiagnosticStatus, latched: the robot link
ROBOT_DESCRIPTION_TOPIC = "/robot_description"  # std_msgs/String (URDF), transient local

# Inspection (RViz)
GRASP_POSE_TOPIC = "/realvlg/grasp_pose"              # geometry_msgs/PoseStamped in the base frame
GRASP_MARKERS_TOPIC = "/realvlg/grasp_markers"        # visualization_msgs/MarkerArray (gripper)
OVERLAY_TOPIC = "/realvlg/detection_overlay"          # sensor_msgs/Image rgb8
OBJECT_CLOUD_TOPIC = "/realvlg/object_cloud"          # sensor_msgs/PointCloud2 in the camera frame
TF_TOPIC = "/tf"
TF_STATIC_TOPIC = "/tf_static"
