"""Integration tests run against a real Kafka: the `kafka_bootstrap` fixture of citybus's pytest plugin."""
import pytest

pytestmark = pytest.mark.integration
