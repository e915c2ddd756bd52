"""pytest plugin: a session-scoped real Kafka broker (filled in by the foundation)."""
