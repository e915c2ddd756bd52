"""`citybus serve lag` as a real process: /metrics, /api/lag and / show a real group; SIGTERM stops it."""
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from citybus.kafka.local import free_port
from citybus.settings import settings
from lag_support import commit_offset, create_topic, produce, unique

pytestmark = pytest.mark.integration

CITYBUS = str(Path(sys.executable).with_name("citybus"))


def catalog_with_level(tmp_path: Path, group: str, max_lag_seconds: float) -> Path:
    """A copy of the topic catalog where `group` has a service level."""
    topics = tmp_path / "topics"
    shutil.copytree(settings().topics_dir, topics)
    layout = yaml.safe_load((topics / "topics.yaml").read_text())
    layout.setdefault("consumer_groups", []).append(
        {"group": group, "service": "lag test", "max_lag_seconds": max_lag_seconds})
    (topics / "topics.yaml").write_text(yaml.safe_dump(layout, sort_keys=False))
    return topics


def get(url: str) -> tuple[int, str, str]:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.status, response.headers.get("Content-Type", ""), response.read().decode()


def wait_for(url: str, done, proc: subprocess.Popen, timeout: float = 30.0) -> str:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"citybus serve lag exited with {proc.returncode}"
        try:
            _, _, body = get(url)
            last = body
            if done(body):
                return body
        except OSError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{url}: not as expected within {timeout} s; last body: {last}")


@pytest.mark.timeout(90)
async def test_serve_lag_shows_the_group_on_metrics_and_api_and_stops_on_sigterm(kafka_bootstrap, tmp_path):
    topic, group = unique("serve"), unique("serve-group")
    await create_topic(kafka_bootstrap, topic)
    await produce(kafka_bootstrap, topic, 20)
    await commit_offset(kafka_bootstrap, group, topic, 5)

    port = free_port()
    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        "CITYBUS_LAG_INTERVAL": "0.3",
        "CITYBUS_LAG_WINDOW": "5",
        "CITYBUS_TOPICS_DIR": str(catalog_with_level(tmp_path, group, 0.5)),
    }
    log = (tmp_path / "serve.log").open("w+")
    proc = subprocess.Popen([CITYBUS, "serve", "lag", "--web-port", str(port)], env=env,
                            stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        # stopped with lag: STOP once the window is full, ERR for the group
        body = wait_for(f"{base}/api/lag", lambda b: any(
            g["group"] == group and g["status"] == "ERR" for g in json.loads(b)["groups"]), proc)
        found = next(g for g in json.loads(body)["groups"] if g["group"] == group)
        assert found["lag_messages"] == 15
        assert found["max_lag_seconds"] == 0.5  # from the catalog
        assert found["active"] is False
        [partition] = found["partitions"]
        assert (partition["topic"], partition["committed"], partition["end"]) == (topic, 5, 20)
        assert partition["status"] == "STOP" and "no commit" in partition["reason"]
        assert found["reason"].startswith(f"{topic}[0] STOP")

        status, content_type, text = get(f"{base}/metrics")
        assert status == 200 and content_type.startswith("text/plain")
        samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
                   for family in text_string_to_metric_families(text) for s in family.samples}
        labels = (("group", group), ("partition", "0"), ("topic", topic))
        assert samples[("citybus_lag_messages", labels)] == 15
        assert samples[("citybus_committed_offset", labels)] == 5
        assert samples[("citybus_partition_status", labels)] == 3  # STOP
        assert samples[("citybus_lag_seconds", labels)] > 0
        assert samples[("citybus_log_end_offset", (("partition", "0"), ("topic", topic)))] == 20
        assert samples[("citybus_group_status", (("group", group),))] == 2  # ERR
        assert samples[("citybus_group_status_info", (("group", group), ("status", "ERR")))] == 1
        assert samples[("citybus_group_lag_messages", (("group", group),))] == 15
        assert samples[("citybus_group_service_level_seconds", (("group", group),))] == 0.5

        history = json.loads(get(f"{base}/api/lag/history")[2])["groups"][group]
        assert len(history) >= 5 and all(point[1] == 15 for point in history)
        status, content_type, page = get(f"{base}/")
        assert status == 200 and content_type.startswith("text/html") and "consumer lag" in page

        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        log.seek(0)
        output = log.read()
        log.close()
    assert "lag monitor on http://127.0.0.1:" in output and "lag monitor stopping" in output, output
    assert "Traceback" not in output, output
