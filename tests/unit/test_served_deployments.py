"""The deployments `workflow up` serves load their flows by module, as the worker can.

A flow run started from a deployment loads its flow from the deployment's entrypoint. By
file path (Prefect's default), the file is loaded as a module of its own name ("sweep"),
and what such a run hands a task worker (a step left over, pickled with the run's
context) names that module: the worker cannot import it, and Prefect deleted the
hand-off ("No module named 'sweep'"). Checked as it happens: the flow loaded from the
entrypoint in one process, pickled, and read back in another.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from workflow.orchestration.deployments import served

LOAD_AND_PICKLE = """
import sys, cloudpickle
from prefect.flows import load_flow_from_entrypoint
flow = load_flow_from_entrypoint(sys.argv[1])
sys.stdout.buffer.write(cloudpickle.dumps(flow))
"""

READ_BACK = """
import sys, pickle
flow = pickle.loads(sys.stdin.buffer.read())
print(flow.fn.__module__)
"""


@pytest.mark.parametrize("name", ["case-step", "sweep", "intake", "monthly-outcomes"])
def test_a_served_flow_is_loaded_by_module_and_read_back_by_another_process(
    name: str,
) -> None:
    deployment = next(d for d in served() if d.name == name)
    assert deployment.entrypoint is not None
    assert ".py" not in deployment.entrypoint, deployment.entrypoint
    pickled = subprocess.run(
        [sys.executable, "-c", LOAD_AND_PICKLE, deployment.entrypoint],
        capture_output=True,
        check=True,
        timeout=120,
    ).stdout
    read = subprocess.run(
        [sys.executable, "-c", READ_BACK],
        input=pickled,
        capture_output=True,
        check=False,
        timeout=120,
    )
    assert read.returncode == 0, read.stderr.decode()
    assert read.stdout.decode().strip().startswith("workflow.orchestration.")
