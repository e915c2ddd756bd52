"""`check_schemas`: the repo passes; an incompatible v2 fails, a compatible one passes."""
from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from citybus.codec import SchemaStore, check_schemas

REPO_SCHEMAS = Path(__file__).resolve().parents[3] / "schemas"
NAME = "citybus.household.HouseholdMoved"


@pytest.fixture
def schemas(tmp_path: Path) -> Path:
    return Path(shutil.copytree(REPO_SCHEMAS, tmp_path / "schemas"))


def _v2(schemas: Path, change) -> None:
    schema = json.loads((schemas / "household" / "HouseholdMoved.v1.avsc").read_text())
    change(schema)
    (schemas / "household" / "HouseholdMoved.v2.avsc").write_text(json.dumps(schema))


def test_the_repos_schemas_pass(store: SchemaStore) -> None:
    report = check_schemas()
    assert report.ok, report.problems
    listed = {(s.full_name, s.version): s.fingerprint for s in report.schemas}
    assert listed == {(s.full_name, s.version): s.fingerprint_hex for s in store}
    assert listed[("citybus.insurance.ContributionRecorded", 1)] == store.latest(
        "citybus.insurance.ContributionRecorded").fingerprint.hex()


def test_a_new_field_without_default_fails(schemas: Path) -> None:
    _v2(schemas, lambda s: s["fields"].append({"name": "registry_office", "type": "string", "doc": "Office."}))
    report = check_schemas(schemas)
    assert not report.ok
    assert report.problems == (
        f"{NAME} v2 is not backward compatible with v1 (v2 cannot read what v1 wrote): "
        "reader_field_missing_default_value: registry_office (at /fields/5)",
    )


def test_removing_a_field_without_default_fails_forward(schemas: Path) -> None:
    _v2(schemas, lambda s: s["fields"].pop(0))
    (problem,) = check_schemas(schemas).problems
    assert "not forward compatible" in problem and "move_id" in problem


def test_a_changed_type_fails_both_ways(schemas: Path) -> None:
    def change(schema: dict[str, Any]) -> None:
        schema["fields"][0]["type"] = "long"

    _v2(schemas, change)
    problems = check_schemas(schemas).problems
    assert len(problems) == 2 and "type_mismatch" in problems[0]


def test_a_new_optional_field_passes(schemas: Path) -> None:
    _v2(schemas, lambda s: s["fields"].append(
        {"name": "registry_office", "type": ["null", "string"], "default": None, "doc": "Office."}))
    report = check_schemas(schemas)
    assert report.ok, report.problems
    assert (NAME, 2) in {(s.full_name, s.version) for s in report.schemas}


def test_every_earlier_version_is_checked_not_just_the_last(schemas: Path) -> None:
    optional = {"name": "registry_office", "type": ["null", "string"], "default": None, "doc": "Office."}
    _v2(schemas, lambda s: s["fields"].append(optional))
    v3 = json.loads((schemas / "household" / "HouseholdMoved.v2.avsc").read_text())
    v3["fields"][-1] = dict(optional, type="string", default="")  # v2 -> v3 breaks, v1 -> v3 does not
    (schemas / "household" / "HouseholdMoved.v3.avsc").write_text(json.dumps(v3))
    problems = check_schemas(schemas).problems
    assert problems and all("v3" in p and "with v2" in p for p in problems)


def test_an_enum_symbol_added_without_default_fails_forward(schemas: Path) -> None:
    scope = json.loads((schemas / "migration" / "Scope.v1.avsc").read_text())
    scope["symbols"].append("SOCIAL_ASSISTANCE")
    (schemas / "migration" / "Scope.v2.avsc").write_text(json.dumps(scope))
    (problem,) = check_schemas(schemas).problems
    assert "citybus.migration.Scope v2 is not forward compatible" in problem and "SOCIAL_ASSISTANCE" in problem


def test_broken_files_and_gaps_are_reported_not_raised(schemas: Path) -> None:
    (schemas / "bus" / "Broken.v1.avsc").write_text("{not json")
    (schemas / "bus" / "RejectedEvent.v1.avsc").rename(schemas / "bus" / "RejectedEvent.v2.avsc")
    (schemas / "insurance" / "notes.v1.avsc").write_text("{}")
    problems = check_schemas(schemas).problems
    assert any(p.startswith("bus/Broken.v1.avsc: not readable JSON") for p in problems)
    assert any("citybus.bus.RejectedEvent: versions [2] must run 1..n" in p for p in problems)
    assert any(p.startswith("insurance/notes.v1.avsc:") for p in problems)


def test_a_missing_dir_is_a_problem(tmp_path: Path) -> None:
    report = check_schemas(tmp_path / "nowhere")
    assert not report.ok and "does not exist" in report.problems[0]


@pytest.mark.parametrize("change", [{"scale": 3}, {"precision": 10}])
def test_a_money_field_with_another_decimal_scale_or_precision_fails_both_ways(schemas: Path, change) -> None:
    """Avro spec, Decimal: two decimal schemas match for resolution only if scale and precision
    match; a v1 reader applying its own scale (Java's) would take 1234.500 for 12345.00."""
    path = schemas / "insurance" / "ContributionRecorded.v1.avsc"
    schema = json.loads(path.read_text())
    next(f for f in schema["fields"] if f["name"] == "employer_amount")["type"].update(change)
    (schemas / "insurance" / "ContributionRecorded.v2.avsc").write_text(json.dumps(schema))
    problems = check_schemas(schemas).problems
    assert len(problems) == 2, problems
    assert "not backward compatible" in problems[0] and "not forward compatible" in problems[1]
    assert all("decimal(14,2)" in p and "/fields/9/type" in p for p in problems), problems


def test_the_same_decimal_in_a_new_version_passes(schemas: Path) -> None:
    path = schemas / "insurance" / "ContributionRecorded.v1.avsc"
    schema = json.loads(path.read_text())
    schema["fields"].append({"name": "refund", "type": ["null", dict(schema["fields"][9]["type"])], "default": None})
    (schemas / "insurance" / "ContributionRecorded.v2.avsc").write_text(json.dumps(schema))
    report = check_schemas(schemas)
    assert report.ok, report.problems
