"""Run logs as JSON lines, for ELK-style stacks: the formatter deploy/json_logs.yaml gives run workers.

The webserver and the daemon write JSON themselves (``--log-format json``); their objects carry
``event``, ``logger``, ``level`` and ``timestamp``. Run workers log through Dagster's loggers, which
the instance config can hand extra handlers (``python_logs.dagster_handler_config``): this formatter
writes the same keys, plus what identifies the record in the pipeline (run, job, step, event type).
Standard library only, so any Dagster process can load it from the instance config.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime


class JsonLogFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        meta = getattr(record, "dagster_meta", None) or {}
        event = meta.get("dagster_event")
        line = {
            "event": meta.get("orig_message") or record.getMessage(),
            "logger": record.name,
            "level": record.levelname.lower(),
            "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat().replace("+00:00", "Z"),
            "run_id": meta.get("run_id"),
            "job": meta.get("job_name"),
            "step": meta.get("step_key"),
            "dagster_event": getattr(event, "event_type_value", None),
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps({key: value for key, value in line.items() if value is not None}, default=str)
