"""The operators' page in headless Chromium (Debian's, driven by Selenium), served by a real
`citybus serve lag` sampling a real broker with a group that lags."""
import asyncio
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from citybus.kafka.local import free_port

pytestmark = [pytest.mark.browser, pytest.mark.integration]

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
CITYBUS = str(Path(sys.executable).with_name("citybus"))
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--window-size=1280,900"]


def require_chromium() -> None:
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not os.access(p, os.X_OK)]
    if missing:
        message = f"headless Chromium not installed ({', '.join(missing)}): run `make browser-deps`"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


def chromium(tmp_path: Path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in [*FLAGS, f"--user-data-dir={tmp_path / 'chromium-profile'}"]:
        options.add_argument(flag)
    service = Service(executable_path=CHROMEDRIVER, log_output=str(tmp_path / "chromedriver.log"))
    return webdriver.Chrome(service=service, options=options)


async def lagging_group(bootstrap: str, topic: str, group: str) -> AIOKafkaProducer:
    """`group` committed offset 10 of 40 and went away; the returned producer keeps writing."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, 1, 1)])
    finally:
        await admin.close()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    for i in range(40):
        await producer.send_and_wait(topic, f"m{i}".encode(), partition=0)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    await consumer.start()
    consumer.assign([TopicPartition(topic, 0)])
    await consumer.commit({TopicPartition(topic, 0): 10})
    await consumer.stop()
    return producer


def api(base: str, path: str) -> dict:
    with urllib.request.urlopen(base + path, timeout=5) as response:
        return json.loads(response.read())


@pytest.mark.timeout(120)
async def test_lag_page_shows_the_lagging_group_with_its_status_and_chart(kafka_bootstrap, tmp_path):
    require_chromium()
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    topic, group = f"lagtest-page-{uuid.uuid4().hex[:8]}", f"lagtest-page-group-{uuid.uuid4().hex[:8]}"
    producer = await lagging_group(kafka_bootstrap, topic, group)

    async def keep_producing() -> None:
        while True:
            await producer.send_and_wait(topic, b"more", partition=0)
            await asyncio.sleep(0.1)

    writing = asyncio.create_task(keep_producing())
    port = free_port()
    env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
           "CITYBUS_LAG_INTERVAL": "0.4", "CITYBUS_LAG_WINDOW": "5"}
    log = (tmp_path / "serve.log").open("w")
    server = subprocess.Popen([CITYBUS, "serve", "lag", "--web-port", str(port)], env=env,
                              stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    driver = None
    try:
        # load the page as soon as the monitor answers, before it has judged the group: what the
        # page shows after that it got by refreshing itself (lag.md), not by being loaded late
        deadline = time.monotonic() + 30
        while True:
            assert server.poll() is None, (tmp_path / "serve.log").read_text()
            with contextlib.suppress(OSError):
                api(base, "/api/lag")
                break
            assert time.monotonic() < deadline, "the monitor did not answer within 30 s"
            await asyncio.sleep(0.2)

        driver = await asyncio.to_thread(chromium, tmp_path)
        await asyncio.to_thread(driver.get, base + "/")
        driver.execute_script("window.loadedOnce = true")  # gone if the page were reloaded
        card = f'section.card[data-group="{group}"]'

        def lag_figure(d) -> str | None:
            figures = d.find_elements(By.CSS_SELECTOR, f"{card} .fig .v")
            return figures[0].text if figures else None

        first = await asyncio.to_thread(WebDriverWait(driver, 20, poll_frequency=0.25).until, lag_figure)
        # the producer keeps writing: the lag in messages shown grows without a reload
        await asyncio.to_thread(WebDriverWait(driver, 20, poll_frequency=0.25).until,
                                lambda d: lag_figure(d) not in (None, first))

        def card_ready(d) -> bool:
            pills = d.find_elements(By.CSS_SELECTOR, f"{card} .top .pill")
            paths = d.find_elements(By.CSS_SELECTOR, f"{card} .chart svg path")
            drawn = [p.get_attribute("d") or "" for p in paths]
            return bool(pills) and pills[0].text == "ERR" and len(drawn) == 2 and all(
                d_.count("L") >= 3 for d_ in drawn)

        # judged over a full window, with a chart of its history: all arrived by refreshing
        await asyncio.to_thread(WebDriverWait(driver, 30, poll_frequency=0.25).until, card_ready)
        assert driver.execute_script("return window.loadedOnce === true"), "the page was reloaded"
        element = driver.find_element(By.CSS_SELECTOR, card)
        assert "ERR" in element.get_attribute("class")
        figures = [v.text for v in element.find_elements(By.CSS_SELECTOR, ".fig .v")]
        assert int(figures[0].replace(",", "")) >= 30, figures  # lag in messages
        assert figures[1].endswith((" s", " m")) or " m " in figures[1], figures  # lag in time, known
        assert "STOP" in element.find_element(By.CSS_SELECTOR, ".reason").text
        rows = element.find_elements(By.CSS_SELECTOR, "details table tbody tr")
        assert len(rows) == 1 and "STOP" in rows[0].text and f"{topic}[0]" in rows[0].text
        assert "ERR" in driver.title
        # everything the page loaded came from the monitor itself
        resources = driver.execute_script(
            "return performance.getEntriesByType('resource').map(e => e.name)")
        assert resources and all(url.startswith(base + "/") for url in resources), resources

        shot = tmp_path / "lag_page.png"
        assert driver.save_screenshot(str(shot)) and shot.stat().st_size > 10_000
        print(f"screenshot: {shot}")
    finally:
        if driver is not None:
            await asyncio.to_thread(driver.quit)
        writing.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await writing
        await producer.stop()
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()
    assert server.returncode == 0, (tmp_path / "serve.log").read_text()
