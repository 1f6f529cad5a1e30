import pytest

from ingestion.reading import UnreadableFileError, read_csv_bytes

NULLS = ("NA", "")


@pytest.mark.parametrize("quoted", [False, True], ids=["vectorised", "csv-module"])
def test_ragged_rows_are_rejected_with_their_record_number(quoted):
    name = '"x"' if quoted else "x"
    table = read_csv_bytes(f"a,b,c\n1,2,3\n4,5\n6,7,8,9\n10,11,{name}\n".encode(), NULLS)
    assert table.rows.get_column("a").to_list() == ["1", "10"]
    assert table.rejected.get_column("_row_number").to_list() == [2, 3]
    assert table.rejected.get_column("reason").to_list() == [
        "malformed row: 2 fields, the header has 3",
        "malformed row: 4 fields, the header has 3",
    ]
    assert table.records_read == 4


def test_a_quote_never_closed_is_a_cut_delivery_refused_whole():
    """A file cut inside a quoted field and one with an unbalanced quote read the same: the quote
    runs to the end of the file. Neither is loaded in part."""
    with pytest.raises(UnreadableFileError, match=r"incomplete delivery: a quoted field opened on line 3 is never"):
        read_csv_bytes(b'a,b\n1,2\n3,"4\n5,6\n', NULLS)


@pytest.mark.parametrize("ending", [b"\n", b""], ids=["final newline", "no final newline"])
def test_a_last_record_missing_fields_is_a_cut_delivery_and_a_missing_newline_alone_is_not(ending):
    assert read_csv_bytes(b"a,b,c\n1,2,3\n4,5,6" + ending, NULLS).rows.height == 2
    with pytest.raises(UnreadableFileError, match=r"its last record \(line 3\) has 2 of 3 fields, so the file was cut"):
        read_csv_bytes(b"a,b,c\n1,2,3\n4,5" + ending, NULLS)
    # A short record in the middle is that record's fault: it is quarantined, the rest loads.
    middle = read_csv_bytes(b"a,b,c\n1,2\n4,5,6" + ending, NULLS)
    assert (middle.rows.height, middle.rejected.height) == (1, 1)


def test_quoted_commas_stay_in_one_field():
    table = read_csv_bytes(b'faa,name\nJFK,"Kennedy, John F"\n', NULLS)
    assert table.rows.get_column("name").to_list() == ["Kennedy, John F"]


def test_non_utf8_records_are_rejected_and_the_rest_load():
    table = read_csv_bytes(b"a,b\n1,caf\xe9\n2,ok\n", NULLS, source="x.csv")
    assert table.rows.get_column("a").to_list() == ["2"]
    assert table.rejected.get_column("reason").to_list() == ["undecodable bytes (file is not valid UTF-8)"]
    assert "x.csv: not valid UTF-8" in table.warnings[0]


def test_null_markers_become_nulls_and_blank_lines_are_not_records():
    table = read_csv_bytes(b"a,b\nNA, 2 \n\n,3\n", NULLS)
    assert table.rows.get_column("a").to_list() == [None, None]
    assert table.rows.get_column("b").to_list() == ["2", "3"]
    assert table.records_read == 2


@pytest.mark.parametrize("data", [b"", b"  \n\n"])
def test_empty_file_is_unreadable(data):
    with pytest.raises(UnreadableFileError, match="file is empty"):
        read_csv_bytes(data, NULLS, source="empty.csv")


def test_header_only_file_has_no_records():
    table = read_csv_bytes(b"a,b,c\n", NULLS)
    assert table.columns == ["a", "b", "c"]
    assert table.records_read == 0


def test_duplicate_header_names_are_unreadable():
    with pytest.raises(UnreadableFileError, match="duplicate or empty column names"):
        read_csv_bytes(b"a,a\n1,2\n", NULLS)
