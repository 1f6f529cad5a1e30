"""The demo's dataset config against the demo's data: the NYC flights files the feed delivers."""

from demo.nycflights import data_dir, source_bytes


def test_the_shipped_config_declares_every_dataset_of_the_demo_data_with_its_kind(datasets):
    shipped = {path.name.split(".")[0] for path in data_dir().iterdir() if ".csv" in path.name}
    assert shipped <= set(datasets), "the demo feed (demo/nycflights.py) delivers only configured datasets"
    for name in shipped:
        header = source_bytes(name).split(b"\n", 1)[0].decode().split(",")
        # The package's daily tables carry the date of each row; its reference tables do not.
        assert datasets[name].kind == ("daily" if {"year", "month", "day"} <= set(header) else "reference"), name
