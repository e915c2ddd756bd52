"""The bench's readings of a process tree (CPU per event, peak memory) count every live descendant."""
import subprocess
import sys
import textwrap

import pytest

from citybus.bench.procs import tree_cpu_s, tree_rss_mb

# A child that starts a grandchild, which burns `cpu` seconds of its own CPU and holds `mb` MiB,
# says so on the shared stdout, and waits to be killed with its parent.
_TREE = textwrap.dedent("""
    import subprocess, sys
    grandchild = '''
    import sys, time
    held = bytearray(int(sys.argv[2]) * 2**20)
    for i in range(0, len(held), 4096):
        held[i] = 1
    while time.process_time() < float(sys.argv[1]):
        pass
    print("ready", flush=True)
    time.sleep(60)
    '''
    proc = subprocess.Popen([sys.executable, "-c", grandchild, sys.argv[1], sys.argv[2]])
    proc.wait()
""")


@pytest.fixture
def tree():
    started = []

    def start(cpu: float, mb: int) -> subprocess.Popen:
        proc = subprocess.Popen([sys.executable, "-c", _TREE, str(cpu), str(mb)], stdout=subprocess.PIPE, text=True,
                                start_new_session=True)
        started.append(proc)
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        return proc

    yield start
    for proc in started:
        subprocess.run(["pkill", "-KILL", "-s", str(proc.pid)], check=False)
        proc.wait()


def test_cpu_counts_what_a_live_grandchild_used(tree):
    child = tree(cpu=0.6, mb=1)
    # /proc counts whole clock ticks (10 ms), the grandchild's own clock does not: a tick or two
    # less is the same reading; the child itself only waits (about 0.03 s to start Python)
    assert tree_cpu_s(child.pid) >= 0.55


def test_memory_counts_what_a_live_grandchild_holds(tree):
    child = tree(cpu=0.0, mb=200)
    assert tree_rss_mb(child.pid) >= 200


def test_a_process_that_is_gone_reads_zero():
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    assert tree_cpu_s(proc.pid) == 0.0
    assert tree_rss_mb(proc.pid) == 0.0
