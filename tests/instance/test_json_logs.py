"""JSON run logs: the instance config deploy/json_logs.yaml adds, on a real run."""

import json
import os
import sys

import dagster as dg

from instance.home import prepare_dagster_home
from instance.local import open_local_instance


@dg.asset
def gates(context: dg.AssetExecutionContext) -> int:
    context.log.info("counted 3 gates")
    return 3


def test_a_run_logs_every_event_and_message_as_a_json_line(tmp_path, settings, capfd):
    home = tmp_path / "dagster_home"
    prepare_dagster_home(
        home, [sys.executable], {**os.environ, **settings.environment(), "DAGSTER_HOME": str(home)}, json_logs=True
    )
    assert "python_logs" in (home / "dagster.yaml").read_text()
    with open_local_instance(home) as instance:
        result = dg.materialize([gates], instance=instance)
    assert result.success
    lines = [json.loads(line) for line in capfd.readouterr().err.splitlines() if line.startswith("{")]
    ours = [line for line in lines if line.get("run_id") == result.run_id]
    assert {line.get("dagster_event") for line in ours} >= {"PIPELINE_START", "STEP_START", "PIPELINE_SUCCESS"}
    [message] = [line for line in ours if line["event"] == "counted 3 gates"]
    assert (message["level"], message["step"], message["job"]) == ("info", "gates", "__ephemeral_asset_job__")
    assert all(line["timestamp"].endswith("Z") for line in ours)


def test_without_the_option_the_instance_config_is_the_committed_one(tmp_path, settings):
    home = tmp_path / "dagster_home"
    prepare_dagster_home(home, [sys.executable], {**os.environ, **settings.environment(), "DAGSTER_HOME": str(home)})
    assert "python_logs" not in (home / "dagster.yaml").read_text()
