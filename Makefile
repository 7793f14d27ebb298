# realvlg — the two commands of the README:
#   make test   set up a bare machine (apt as root, .venv, ROS 2 wheels, interfaces) and run every test
#   make demo   set up, start the simulated graph, grasp an object named in language, report
PY := .venv/bin/python

.PHONY: setup test demo bench clean

setup:
	./scripts/setup.sh

test: setup
	$(PY) -m pytest $(PYTEST_ARGS)

demo: setup
	.venv/bin/realvlg demo

bench: setup
	$(PY) bench/backproject.py
	$(PY) bench/camera_topics.py
	$(PY) bench/metrics.py
	$(PY) bench/pipeline.py
	$(PY) bench/ros_executor.py
	$(PY) bench/grounding.py
	$(PY) bench/camera_read.py
	$(PY) bench/recording.py
	$(PY) bench/calibration.py
	$(PY) bench/coarse.py
	$(PY) bench/datagen.py
	$(PY) bench/embedded_model.py
	$(PY) bench/dex_sim.py
	$(PY) bench/dexvlg_ranking.py
	$(PY) bench/dexvlg.py

clean:
	rm -rf build .venv .pytest_cache .hypothesis
