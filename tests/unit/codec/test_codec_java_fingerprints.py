"""Our fingerprints and canonical forms against the reference: Apache Avro for Java."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import avro.schema
import pytest

from citybus.codec import SchemaStore
from citybus.settings import settings

REPO = Path(__file__).resolve().parents[3]
LIB = settings().kafka_lib_dir  # CITYBUS_KAFKA_LIB_DIR, else deploy/kafka/target/lib
PROGRAM = REPO / "deploy" / "avro-java" / "Fingerprint.java"
JARS = ("avro-", "jackson-core-", "jackson-databind-", "jackson-annotations-", "slf4j-api-")


def _classpath() -> str | None:
    found = [next(iter(sorted(LIB.glob(f"{prefix}*.jar"))), None) for prefix in JARS]
    if None in found:
        return None
    return ":".join(str(jar) for jar in found)


@pytest.fixture(scope="module")
def java_view(store: SchemaStore, tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[str, str]]:
    """(fingerprint hex, canonical form) by 'full_name v<version>', from one Java run for all."""
    classpath = _classpath()
    if shutil.which("java") is None or classpath is None:
        message = f"needs java on PATH and the Avro/Jackson jars in {LIB} (run `make kafka-jars`)"
        if os.environ.get("CI"):  # the only independent check of the fingerprints: never skipped in CI
            pytest.fail(message)
        pytest.skip(message)
    folder = tmp_path_factory.mktemp("expanded")
    files = {}
    for stored in store:
        path = folder / f"{stored.full_name}.v{stored.version}.avsc"
        path.write_text(json.dumps(stored.schema), encoding="utf-8")
        files[str(path)] = f"{stored.full_name} v{stored.version}"
    run = subprocess.run(
        ["java", "-cp", classpath, str(PROGRAM), *files], capture_output=True, text=True, timeout=120, check=False
    )
    assert run.returncode == 0, run.stderr
    view = {}
    for line in run.stdout.splitlines():
        path, _full_name, fingerprint, canonical = line.split("\t")
        view[files[path]] = (fingerprint, canonical)
    return view


def test_every_schema_has_javas_fingerprint(store: SchemaStore, java_view: dict[str, tuple[str, str]]) -> None:
    ours = {f"{s.full_name} v{s.version}": (s.fingerprint_hex, s.canonical_form) for s in store}
    assert len(ours) >= 19
    assert ours == java_view


def test_the_avro_packages_canonical_form_is_not_the_specs(store: SchemaStore, java_view: dict[str, tuple[str, str]]) -> None:
    # Why fingerprints come from fastavro: `avro` keeps {"type":"bytes"} for logical types.
    stored = store.latest("citybus.insurance.ContributionRecorded")
    theirs = avro.schema.parse(json.dumps(stored.schema))
    assert theirs.canonical_form != java_view["citybus.insurance.ContributionRecorded v1"][1]
    assert theirs.fingerprint("CRC-64-AVRO") != stored.fingerprint
