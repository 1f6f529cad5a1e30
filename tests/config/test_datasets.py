from datetime import date
from pathlib import Path

import pytest
import yaml

from config.datasets import ConfigError, load_datasets, parse_datasets

SOURCE = Path("datasets.yaml")
SCHEMAS = "tests.synthetic.schemas"  # a schema may be any module; one word names one of schemas/
VALID_ENTRY = {
    "description": "Orders",
    "kind": "daily",
    "file_pattern": "orders_{date}.csv",
    "date_format": "%Y-%m-%d",
    "primary_key": ["order_id"],
    "schema": f"{SCHEMAS}.orders.Orders",
}


def parse_one(**changes: object) -> dict:
    entry = {**VALID_ENTRY, **changes}
    return parse_datasets({"datasets": {"orders": {k: v for k, v in entry.items() if v is not None}}}, SOURCE)


def error_of(**changes: object) -> str:
    with pytest.raises(ConfigError) as raised:
        parse_one(**changes)
    return str(raised.value)


def test_unknown_key_names_the_entry_and_the_field():
    message = error_of(frequency="daily")
    assert "dataset 'orders'" in message
    assert "field 'frequency'" in message


def test_missing_schema_module_and_missing_class_are_errors():
    assert "no module schemas/nope.py" in error_of(schema="nope.Orders")
    assert "no module tests/synthetic/schemas/nope.py" in error_of(schema=f"{SCHEMAS}.nope.Orders")
    assert "has no class Nope" in error_of(schema=f"{SCHEMAS}.orders.Nope")
    assert "module.Class" in error_of(schema="Orders")


def test_schema_must_be_a_pandera_model():
    assert "not a pandera.polars DataFrameModel" in error_of(schema=f"{SCHEMAS}.orders.STATUSES")


def test_primary_key_columns_must_exist_in_the_schema():
    assert "['order_no'] are not in schema" in error_of(primary_key=["order_id", "order_no"])


def test_without_schemas_the_models_are_not_resolved_and_the_rest_is_still_checked():
    raw = {"datasets": {"orders": {**VALID_ENTRY, "schema": "nope.Orders", "primary_key": ["order_no"]}}}
    assert set(parse_datasets(raw, SOURCE, check_schemas=False)) == {"orders"}
    with pytest.raises(ConfigError, match="field 'frequency'"):
        parse_datasets({"datasets": {"orders": {**VALID_ENTRY, "frequency": "daily"}}}, SOURCE, check_schemas=False)


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("../orders_{date}.csv", "not a safe file name pattern"),
        ("orders/{date}.csv", "not a safe file name pattern"),
        ("orders_*.csv", "not a safe file name pattern"),
        ("orders.csv", "exactly one {date}"),
        ("orders_{date}_{date}.csv", "exactly one {date}"),
        ("orders_{day}.csv", "the only placeholder is {date}"),
    ],
)
def test_bad_file_patterns_are_rejected(pattern, expected):
    message = error_of(file_pattern=pattern)
    assert expected in message
    assert "field 'file_pattern'" in message or "dataset 'orders'" in message


@pytest.mark.parametrize("date_format", ["%d/%m/%Y", "%Y-%m", "%Y-%m-%d %H", "%Y%m%d%Y"])
def test_bad_date_formats_are_rejected(date_format):
    assert "date_format" in error_of(date_format=date_format)


def test_unsafe_dataset_name_is_rejected():
    entry = {k: v for k, v in VALID_ENTRY.items()}
    with pytest.raises(ConfigError, match="not a safe name"):
        parse_datasets({"datasets": {"orders; DROP TABLE x": entry}}, SOURCE)


def test_unsafe_primary_key_column_is_rejected():
    assert "not a safe identifier" in error_of(primary_key=['order_id"; --'])


def test_reference_dataset_cannot_have_a_date():
    message = error_of(kind="reference", file_pattern="orders_{date}.csv")
    assert "reference dataset has a fixed file name" in message


def test_every_problem_is_reported_at_once():
    raw = {"datasets": {"a": {**VALID_ENTRY, "kind": "hourly"}, "b": {**VALID_ENTRY, "schema": "nope.X"}}}
    with pytest.raises(ConfigError) as raised:
        parse_datasets(raw, SOURCE)
    assert "dataset 'a'" in str(raised.value)
    assert "dataset 'b'" in str(raised.value)


def test_file_pattern_round_trips_between_name_and_date():
    dataset = parse_one(date_format="%Y%m%d", file_pattern="orders-{date}.csv")["orders"]
    name = dataset.file_name_for(date(2026, 3, 9))
    assert name == "orders-20260309.csv"
    found = dataset.file_regex.match(name)
    assert found is not None
    assert dataset.parse_date(found["date"]) == date(2026, 3, 9)
    assert dataset.file_regex.match("orders-20260309.csv.bak") is None


def test_load_datasets_reports_yaml_errors_with_the_path(tmp_path):
    path = tmp_path / "datasets.yaml"
    path.write_text("datasets: [unclosed")
    with pytest.raises(ConfigError, match="cannot read dataset config"):
        load_datasets(path)
    path.write_text(yaml.safe_dump({"sources": {}}))
    with pytest.raises(ConfigError, match="single top-level 'datasets:'"):
        load_datasets(path)


def test_a_folder_of_files_declares_the_datasets_of_them_all_in_name_order(tmp_path):
    entry = {key: value for key, value in VALID_ENTRY.items()}
    (tmp_path / "b.yaml").write_text(yaml.safe_dump({"datasets": {"second": entry}}))
    (tmp_path / "a.yaml").write_text(yaml.safe_dump({"datasets": {"first": entry}}))
    (tmp_path / "README.md").write_text("not a declaration")
    assert list(load_datasets(tmp_path)) == ["first", "second"]


def test_a_name_declared_in_two_files_is_an_error_naming_both(tmp_path):
    for name in ("a.yaml", "b.yaml"):
        (tmp_path / name).write_text(yaml.safe_dump({"datasets": {"orders": VALID_ENTRY}}))
    with pytest.raises(ConfigError, match=r"dataset 'orders' is declared twice: in .*a\.yaml and in .*b\.yaml"):
        load_datasets(tmp_path)


def test_an_empty_folder_declares_no_datasets_and_a_missing_path_is_an_error(tmp_path):
    assert load_datasets(tmp_path) == {}
    with pytest.raises(ConfigError, match="no such dataset config"):
        load_datasets(tmp_path / "missing")
