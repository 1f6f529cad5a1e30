"""A file is what its first bytes say, not what its name says: refused whole, saying what it is."""

import gzip
import io
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from config.datasets import DatasetConfig
from ingestion.landing import LandedFile
from ingestion.pipeline import Delivery, FileIngestion, Severity, ingest_files
from ingestion.sniffing import WrongFormatError, check_format, identify
from tests.synthetic import feed

DAY = feed.FIRST_DAY


def ingest_as(config: DatasetConfig, path: Path, source_file: str) -> FileIngestion:
    """Ingest ``path`` as the first day's file of ``config``, a variant of the orders dataset."""
    delivery = Delivery(LandedFile("orders", path, DAY.isoformat()), source_file)
    [result] = ingest_files(config, [delivery], datetime(2026, 1, 1, tzinfo=UTC), "test-run")
    return result


def parquet_bytes(data: bytes) -> bytes:
    buffer = io.BytesIO()
    pl.read_csv(data, infer_schema=False).write_parquet(buffer)
    return buffer.getvalue()


def zip_bytes(data: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("orders.csv", data)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("make", "what"),
    [
        (gzip.compress, "gzip-compressed"),
        (zip_bytes, "a zip archive"),
        (parquet_bytes, "a Parquet file"),
        (lambda data: b"\x00\x01binary" + data, "binary data"),
    ],
    ids=["gzip", "zip", "parquet", "nul-bytes"],
)
def test_a_container_under_a_csv_name_is_refused_whole_saying_what_it_is(ingest, orders_day_csv, make, what):
    result = ingest(make(orders_day_csv))
    assert result.severity is Severity.ERROR
    assert result.problems == [result.problems[0]]
    assert result.problems[0].startswith(f"orders_{DAY}.csv is {what}")
    assert "expected plain CSV" in result.problems[0]
    assert "UTF-8" not in result.problems[0], "no mojibake diagnosis"
    # No garbage records: nothing was read, nothing loaded, nothing quarantined.
    assert (result.records_read, result.rows_loaded, result.quarantined.height) == (0, 0, 0)


def test_plain_csv_text_is_accepted():
    assert identify(b"order_id,quantity\n1,3\n") is None
    check_format("orders.csv", b"order_id,quantity\n", "csv", None)


def test_a_gzip_file_under_a_csv_name_suggests_declaring_compression():
    with pytest.raises(WrongFormatError, match=r"declare compression: gzip"):
        check_format("f.csv", gzip.compress(b"a,b\n"), "csv", None)


def test_a_dataset_that_declares_gzip_reads_compressed_files(datasets, tmp_path, orders_day_csv):
    config = datasets["orders"].model_copy(update={"compression": "gzip", "file_pattern": "orders_{date}.csv.gz"})
    path = tmp_path / config.file_name_for(DAY)
    path.write_bytes(gzip.compress(orders_day_csv))
    result = ingest_as(config, path, f"orders/{path.name}")
    assert result.severity is Severity.OK
    assert result.rows_loaded == result.records_read == feed.orders_frame(DAY).height


def test_a_dataset_that_declares_gzip_refuses_a_plain_file(datasets, tmp_path, orders_day_csv):
    config = datasets["orders"].model_copy(update={"compression": "gzip", "file_pattern": "orders_{date}.csv.gz"})
    path = tmp_path / f"orders_{DAY}.csv.gz"
    path.write_bytes(orders_day_csv)
    result = ingest_as(config, path, "x")
    assert result.severity is Severity.ERROR
    assert "is not compressed (plain text); expected gzip-compressed plain CSV" in result.problems[0]


def test_damaged_gzip_data_is_named(datasets, tmp_path, orders_day_csv):
    config = datasets["orders"].model_copy(update={"compression": "gzip", "file_pattern": "orders_{date}.csv.gz"})
    path = tmp_path / f"orders_{DAY}.csv.gz"
    path.write_bytes(gzip.compress(orders_day_csv)[:500])
    result = ingest_as(config, path, "x")
    assert result.severity is Severity.ERROR
    assert f"orders_{DAY}.csv.gz: damaged gzip data" in result.problems[0]


def test_utf16_text_is_named_as_such_not_as_binary():
    data = "\ufefforder_id,quantity\n1,3\n".encode("utf-16")
    with pytest.raises(
        WrongFormatError, match=r"f.csv is UTF-16 text \(little-endian\), not UTF-8; expected plain CSV"
    ):
        check_format("f.csv", data, "csv", None)


def test_a_header_that_starts_like_a_signature_is_still_text():
    check_format("people.csv", b"ORCID,name\n0000-0001,Ada\n", "csv", None)
