"""The schema store: files to self-contained writer schemas, versions, fingerprints, overrides."""
from __future__ import annotations

import datetime
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from citybus.codec import SCHEMAS_DIR_VARIABLE, SchemaError, SchemaStore, SingleObjectCodec, default_store
from citybus.errors import ValidationError

from codec_samples import SAMPLES

REPO_SCHEMAS = Path(__file__).resolve().parents[3] / "schemas"


def _json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def _write(path: Path, schema: dict[str, Any]) -> None:
    path.write_text(json.dumps(schema, indent=2), encoding="utf-8")


def _field(schema: dict[str, Any], name: str) -> dict[str, Any]:
    return next(f for f in schema["fields"] if f["name"] == name)


@pytest.fixture
def schemas(tmp_path: Path) -> Path:
    return Path(shutil.copytree(REPO_SCHEMAS, tmp_path / "schemas"))


def test_the_default_is_the_repos_schemas_dir(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(SCHEMAS_DIR_VARIABLE, raising=False)
    assert default_store().root.resolve() == REPO_SCHEMAS


def test_the_environment_overrides_the_dir(schemas: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (schemas / "bus" / "RejectedEvent.v1.avsc").unlink()
    monkeypatch.setenv(SCHEMAS_DIR_VARIABLE, str(schemas))
    assert default_store().root == schemas
    assert "citybus.bus.RejectedEvent" not in default_store().record_names


def test_every_record_enum_and_field_has_a_doc() -> None:
    def walk(schema: Any, where: str) -> None:
        if isinstance(schema, list):
            for branch in schema:
                walk(branch, where)
        elif isinstance(schema, dict):
            if schema.get("type") in ("record", "enum"):
                assert schema.get("doc"), f"{where}: {schema['name']} has no doc"
            for field in schema.get("fields", []):
                assert field.get("doc"), f"{where}: field {field['name']} has no doc"
                walk(field["type"], where)
            walk(schema.get("items"), where)
            walk(schema.get("values"), where)

    files = sorted(REPO_SCHEMAS.rglob("*.avsc"))
    assert len(files) == 19
    for path in files:
        walk(_json(path), path.name)


def test_shared_enums_are_inlined_once_then_named(store: SchemaStore) -> None:
    schema = store.latest("citybus.migration.MigrationStatusChanged").schema
    text = json.dumps(schema)
    assert text.count('"symbols"') == 5  # SubjectType, MigrationStatus, Scope, ScopeStatus, Step
    progress = _field(schema, "scopes")["type"]["items"]["fields"]
    assert progress[0]["type"]["name"] == "Scope" and progress[2]["type"]["name"] == "Step"
    assert "references" not in schema


def test_a_name_used_twice_is_defined_once(store: SchemaStore) -> None:
    command = store.latest("citybus.migration.MigrationCommand").schema
    assert json.dumps(command).count('"name": "Scope"') == 1
    requested = store.latest("citybus.migration.MigrationRequested").schema
    assert _field(requested, "scopes")["type"]["items"]["symbols"][0] == "HOUSEHOLD"


def test_a_reference_must_pin_its_version(schemas: Path) -> None:
    path = schemas / "migration" / "MigrationReply.v1.avsc"
    schema = _json(path)
    del schema["references"]["citybus.migration.Outcome"]
    _write(path, schema)
    with pytest.raises(SchemaError, match=r"MigrationReply.v1.avsc: uses citybus.migration.Outcome but does not pin"):
        SchemaStore(schemas)


def test_a_file_must_sit_where_its_namespace_says(schemas: Path) -> None:
    shutil.move(schemas / "household" / "HouseholdMoved.v1.avsc", schemas / "bus" / "HouseholdMoved.v1.avsc")
    with pytest.raises(SchemaError, match="defines citybus.household.HouseholdMoved, but its folder and file name say citybus.bus"):
        SchemaStore(schemas)


def test_a_new_enum_version_changes_no_published_fingerprint(schemas: Path, store: SchemaStore) -> None:
    scope = _json(schemas / "migration" / "Scope.v1.avsc")
    scope["symbols"].append("SOCIAL_ASSISTANCE")
    _write(schemas / "migration" / "Scope.v2.avsc", scope)
    reply = _json(schemas / "migration" / "MigrationReply.v1.avsc")
    reply["references"]["citybus.migration.Scope"] = 2
    _write(schemas / "migration" / "MigrationReply.v2.avsc", reply)
    changed = SchemaStore(schemas)
    for name in store.record_names:
        assert changed.get(name, 1).fingerprint == store.latest(name).fingerprint
    v2 = changed.latest("citybus.migration.MigrationReply")
    assert v2.version == 2 and v2.fingerprint != store.latest("citybus.migration.MigrationReply").fingerprint
    assert "SOCIAL_ASSISTANCE" in json.dumps(v2.schema)


def test_old_and_new_writers_resolve_to_any_reader(schemas: Path, store: SchemaStore) -> None:
    name = "citybus.household.HouseholdMoved"
    v2 = _json(schemas / "household" / "HouseholdMoved.v1.avsc")
    v2["fields"].append({"name": "registry_office", "type": ["null", "string"], "default": None, "doc": "Office."})
    _write(schemas / "household" / "HouseholdMoved.v2.avsc", v2)
    codec = SingleObjectCodec(SchemaStore(schemas))
    assert [s.version for s in codec.store.versions(name)] == [1, 2]

    old = SingleObjectCodec(store).encode(name, SAMPLES[name])
    assert codec.decode(old, name) == (name, dict(SAMPLES[name], registry_office=None))
    new = codec.encode(name, dict(SAMPLES[name], registry_office="深圳市公安局"))
    assert codec.decode(new, name, reader_version=1) == (name, SAMPLES[name])
    assert codec.encode(name, SAMPLES[name], version=1) == old
    assert codec.store.find(old[2:10]).version == 1


def test_a_naive_datetime_in_a_nullable_timestamp_is_refused_too(schemas: Path) -> None:
    """single_object's rule (fastavro would read a naive datetime as local time) holds for a
    timestamp in a union with null, as a later version may add one."""
    name = "citybus.household.HouseholdMoved"
    v2 = _json(schemas / "household" / "HouseholdMoved.v1.avsc")
    v2["fields"].append({"name": "registered_at", "default": None, "doc": "When the new office registered it.",
                         "type": ["null", {"type": "long", "logicalType": "timestamp-millis"}]})
    _write(schemas / "household" / "HouseholdMoved.v2.avsc", v2)
    codec = SingleObjectCodec(SchemaStore(schemas))
    utc = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
    assert codec.decode(codec.encode(name, dict(SAMPLES[name], registered_at=utc)))[1]["registered_at"] == utc
    with pytest.raises(ValidationError, match="timezone-aware") as caught:
        codec.encode(name, dict(SAMPLES[name], registered_at=datetime.datetime(2026, 1, 1)))
    assert caught.value.field == f"{name}.registered_at"
