"""The graph plan that `realvlg up` and the launch file share."""

import pytest

from realvlg.errors import InvalidInputError
from realvlg.graph import RESPAWN_DELAY, plan_graph, repo_path


def test_simulated_graph_with_the_oracle():
    nodes = plan_graph("sim", "sim", "oracle")
    assert [n.name for n in nodes] == ["sim_node", "executor_node", "grasp_node"]
    executor = nodes[1]
    assert [p.rsplit("/", 1)[1] for p in executor.params_files] == ["executor_franka.yaml", "executor_franka_sim.yaml"]
    grasp = nodes[2].argv()
    assert grasp[:3] == ["-m", "realvlg.ros.nodes.grasp_node", "--ros-args"]
    assert "grounding.service:=/sim/ground" in grasp and "calibration:=calibration/sim_fr3_wrist_camera.yaml" in grasp
    assert "publish_camera:=true" in nodes[0].argv()


def test_default_graph_serves_the_embedded_model():
    nodes = plan_graph()
    assert [n.name for n in nodes] == ["sim_node", "executor_node", "grounding_node", "grasp_node"]
    assert nodes[2].overrides["backend"] == "embedded" and nodes[2].overrides["checkpoint"] == "embedded-default"
    assert "grounding.service:=/realvlg/ground" in nodes[3].argv()


def test_real_robot_graph_uses_camera_and_grounding_nodes():
    nodes = plan_graph("franka", "realsense", "vlm")
    assert [n.name for n in nodes] == ["camera_node", "executor_node", "grounding_node", "grasp_node"]
    assert nodes[0].overrides == {"backend": "realsense"}
    assert nodes[-1].overrides == {"grounding.service": "/realvlg/ground"}


@pytest.mark.parametrize("choice,words", [
    (("franka", "sim", "vlm"), "simulated camera needs"),
    (("franka", "realsense", "oracle"), "oracle grounding reads the simulator"),
    (("kuka", "sim", "oracle"), "unknown robot"),
    (("ur10e", "realsense", "vlm"), "cannot carry --hand franka"),
])
def test_impossible_graphs_are_refused(choice, words):
    with pytest.raises(InvalidInputError, match=words):
        plan_graph(*choice)


def test_overrides_replace_file_values_and_unknown_nodes_are_refused():
    nodes = plan_graph(overrides={"sim_node": {"seed": 3, "publish_camera": False}})
    assert nodes[0].overrides == {"publish_camera": False, "seed": 3}
    with pytest.raises(InvalidInputError, match="camera_node"):
        plan_graph(overrides={"camera_node": {}})
    assert repo_path("config/x.yaml").is_absolute() and str(repo_path("/tmp/a")) == "/tmp/a"


@pytest.mark.parametrize("choice", [{}, {"robot": "franka", "camera": "realsense", "grounding": "vlm"},
                                    {"hand": "shadow"}, {"robot": "ur10e", "hand": "shadow", "camera": "replay"}])
def test_every_node_respawns_after_a_delay_and_overrides_keep_it(choice):
    nodes = plan_graph(**choice)
    assert all(n.respawn and n.respawn_delay == RESPAWN_DELAY for n in nodes)
    assert RESPAWN_DELAY > 1.0   # past the services' 1 s liveliness lease: clients see the node gone first
    name = nodes[0].name
    kept = plan_graph(**choice, overrides={name: {"x": 1}})[0]
    assert kept.respawn and kept.respawn_delay == RESPAWN_DELAY and kept.overrides["x"] == 1


def test_the_shadow_hand_graph_is_one_dex_node_and_the_franka_graph_is_unchanged():
    nodes = plan_graph(hand="shadow", overrides={"dex_grasp_node": {"samples": 4}})
    assert [n.name for n in nodes] == ["dex_grasp_node"]
    assert nodes[0].module == "realvlg.ros.nodes.dex_grasp_node" and nodes[0].overrides == {"samples": 4}
    assert nodes[0].params_files[0].endswith("config/dex_grasp_node.yaml")
    assert plan_graph(hand="franka") == plan_graph()
    for choice, match in (({"robot": "franka", "camera": "realsense"}, "cannot carry"),
                          ({"camera": "replay"}, "renders its own camera"),
                          ({"robot": "ur10e", "camera": "sim"}, "needs a real camera"),
                          ({"camera": "external"}, "renders its own camera")):
        with pytest.raises(InvalidInputError, match=match):
            plan_graph(hand="shadow", **choice)
    with pytest.raises(InvalidInputError, match="cannot carry"):
        plan_graph("ur10e", "realsense", hand="franka")
    with pytest.raises(InvalidInputError, match="hand"):
        plan_graph(hand="allegro")


def test_the_real_ur10e_graph_drives_arm_and_hand_through_one_executor_node():
    nodes = plan_graph("ur10e", "realsense", hand="shadow")
    assert [(n.name, n.module) for n in nodes] == [("camera_node", "realvlg.ros.nodes.camera_node"),
                                                   ("executor_node", "realvlg.ros.nodes.executor_node")]
    assert nodes[1].params_files[0].endswith("config/executor_ur10e_shadow.yaml")
    import yaml

    params = yaml.safe_load(open(nodes[1].params_files[0]))["/**"]["ros__parameters"]
    assert params["robot"] == "ur10e_shadow" and params["hand"]["topic"] == "/rh_trajectory_controller/command"


def test_up_suggests_an_instruction_for_each_graphs_default_scene():
    import yaml

    from realvlg.cli.up import EXAMPLE_INSTRUCTION
    from realvlg.graph import HANDS

    assert set(EXAMPLE_INSTRUCTION) == set(HANDS)
    dex = yaml.safe_load(repo_path("config/dex_grasp_node.yaml").read_text())["dex_grasp_node"]["ros__parameters"]
    assert any(f" {name}" in EXAMPLE_INSTRUCTION["shadow"] for name in dex["objects"])


def test_an_external_camera_starts_no_camera_node_and_points_the_grasp_node_at_it():
    import yaml

    sim = plan_graph("sim", "external", "oracle")
    assert [n.name for n in sim] == ["sim_node", "executor_node", "grasp_node"]
    assert sim[0].overrides["publish_camera"] is False                # the simulator's own camera stays silent
    grasp = sim[-1]
    assert [p.rsplit("/", 1)[1] for p in grasp.params_files] == ["grasp_node.yaml", "camera_external.yaml"]
    assert grasp.overrides["calibration"] == "calibration/sim_fr3_wrist_camera.yaml"
    params = yaml.safe_load(open(grasp.params_files[1]))["/**"]["ros__parameters"]
    assert params["camera"]["namespace"] == "/camera/camera"           # rs_launch.py's defaults
    assert "--params-file" in grasp.argv() and grasp.argv()[-4:] == ["-p", "grounding.service:=/sim/ground",
                                                                     "-p", "calibration:=calibration/sim_fr3_wrist_camera.yaml"]

    real = plan_graph("franka", "external", "vlm")
    assert [n.name for n in real] == ["executor_node", "grounding_node", "grasp_node"]
    assert real[-1].params_files == plan_graph("franka", "realsense", "vlm")[-1].params_files + (grasp.params_files[1],)
    assert "camera_node" not in [n.name for n in plan_graph("ur10e", "external", hand="shadow")]
    with pytest.raises(InvalidInputError, match="overrides for nodes not in this graph: camera_node"):
        plan_graph("franka", "external", "vlm", overrides={"camera_node": {}})
