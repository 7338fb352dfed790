"""The JSON Schema and the rule-file reference stay in step with the models."""

from __future__ import annotations

import re
from pathlib import Path

import jsonschema
import pytest

from roleSync.cli import main
from roleSync.rules.loader import load_yaml
from roleSync.rules.reference import json_schema, json_schema_text, markdown_reference
from roleSync.rules.schema import RolesFile, RoutingFile
from roleSync.rules.testing_schema import RuleTestFile

ROOT = Path(__file__).resolve().parents[1]
RULES = ROOT / "rules"
SHIPPED = sorted(RULES.glob("*.yaml")) + sorted((RULES / "tests").glob("*.test.yaml"))


def test_committed_schema_is_current() -> None:
    assert (RULES / "schema.json").read_text() == json_schema_text(), (
        "rules/schema.json is stale: run `rolesync schema -o rules/schema.json`"
    )


def test_committed_reference_is_current() -> None:
    assert (ROOT / "docs" / "rule-files.md").read_text() == markdown_reference(), (
        "docs/rule-files.md is stale: run `rolesync schema --markdown -o docs/rule-files.md`"
    )


def test_schema_check_mode_reports_staleness(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stale = tmp_path / "schema.json"
    stale.write_text("{}\n")
    assert main(["schema", "-o", str(stale), "--check"]) == 1
    assert "is stale" in capsys.readouterr().err
    assert main(["schema", "-o", str(stale)]) == 0
    assert main(["schema", "-o", str(stale), "--check"]) == 0


def test_reference_names_every_key_of_every_model() -> None:
    reference = markdown_reference()
    for model in (RolesFile, RoutingFile, RuleTestFile):
        for name, info in model.model_fields.items():
            assert f"| `{info.alias or name}` |" in reference, (model.__name__, name)


@pytest.mark.parametrize("path", SHIPPED, ids=[p.name for p in SHIPPED])
def test_shipped_files_name_the_schema_and_satisfy_it(path: Path) -> None:
    first_line = path.read_text().splitlines()[0]
    where = "./schema.json" if path.parent == RULES else "../schema.json"
    assert first_line == f"# yaml-language-server: $schema={where}"
    jsonschema.Draft202012Validator(json_schema()).validate(load_yaml(path).data)


def test_the_schema_rejects_what_the_models_reject() -> None:
    validator = jsonschema.Draft202012Validator(json_schema())
    assert not validator.is_valid({"version": 1, "kind": "roles", "clasify": []})
    assert not validator.is_valid(
        {"version": 1, "kind": "routing", "routes": [{"id": "r", "assign": {"pool": 3}}]}
    )


def test_shipped_rules_pass_check_strict_and_their_tests(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["check", "--strict", str(RULES), str(ROOT / "connectors")]) == 0
    assert main(["test", str(RULES / "tests")]) == 0
    assert capsys.readouterr().out.splitlines()[-1].endswith(" passed, 0 failed")


RAW_TYPE = re.compile(r"typing\.|Annotated|Strict\(|FieldInfo|constrained")


def test_the_reference_shows_types_as_a_person_writes_them() -> None:
    # Issue 16: a map's type once read `dict[typing.Annotated[str, Strict(strict=True),
    # FieldInfo(...)]...]`. Every table's type column must be in the reader's words.
    types = [
        row.split(" | ")[1]
        for row in markdown_reference().splitlines()
        if row.startswith("| `") and row.count(" | ") >= 3
    ]
    assert len(types) > 50
    assert [t for t in types if RAW_TYPE.search(t)] == []
    assert [t for t in types if "dict[" in t or "list[" in t] == []
