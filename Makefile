# realvlg — the two commands of the README:
#   make test   set up a bare machine (apt as root, .venv, ROS 2 wheels, interfaces) and run every test
#   make demo   (arrives with the simulation issue)
PY := .venv/bin/python

.PHONY: setup test bench clean

setup:
	./scripts/setup.sh

test: setup
	$(PY) -m pytest $(PYTEST_ARGS)

bench: setup
	$(PY) bench/backproject.py
	$(PY) bench/camera_topics.py
	$(PY) bench/metrics.py
	$(PY) bench/calibration.py

clean:
	rm -rf build .venv .pytest_cache .hypothesis
