"""The saga is pure domain: no broker, codec, web, event loop or clock (the import-linter
contract says the same for the whole domain; this also keeps clocks out)."""
import ast
from pathlib import Path

import citybus.domain.migration as migration

FORBIDDEN = {"faust", "aiokafka", "fastavro", "avro", "aiohttp", "mode", "asyncio", "time", "random", "uuid"}
FORBIDDEN_CITYBUS = ("citybus.codec", "citybus.migration", "citybus.kafka", "citybus.cities", "citybus.bus")


def imported_modules(path: Path):
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.module


def test_no_module_of_the_saga_imports_io_or_a_clock():
    files = sorted(Path(migration.__file__).parent.glob("*.py"))
    assert len(files) >= 10
    for path in files:
        for name in imported_modules(path):
            assert name.split(".")[0] not in FORBIDDEN, f"{path.name} imports {name}"
            assert not name.startswith(FORBIDDEN_CITYBUS), f"{path.name} imports {name}"
        assert "datetime.now" not in path.read_text() and "utcnow" not in path.read_text()


def test_the_public_surface_is_explicit():
    assert sorted(set(migration.__all__)) == sorted(migration.__all__)
    for name in migration.__all__:
        assert hasattr(migration, name), name
