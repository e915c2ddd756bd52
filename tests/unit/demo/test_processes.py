"""Child processes of the demo and the bench: the parent closes its copy of a child's log file
(the child has its own descriptor), instead of leaving it to the collector with a ResourceWarning."""
import gc
import os
import sys
import warnings

from citybus.demo.processes import ServiceProcess


def test_starting_a_service_closes_the_parents_copy_of_its_log(tmp_path):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        services = [ServiceProcess(f"s{i}", ["--help"], env, tmp_path).start() for i in range(3)]
        gc.collect()
    assert not [w for w in caught if issubclass(w.category, ResourceWarning)], [str(w.message) for w in caught]
    for service in services:
        assert service.proc is not None
        assert service.proc.wait(timeout=60) == 0
        assert "Usage" in service.log_path.read_text()  # the child wrote its log through its own descriptor
