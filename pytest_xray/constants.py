"""Names and numbers the plugin shares between its modules."""

from __future__ import annotations

BASELINE_DIR = "__xray_baselines__"
BASELINE_FORMAT = 1
#: the longest file name (in bytes) common file systems accept
MAX_FILE_NAME_BYTES = 255
DEFAULT_DB = ".xray/runs.db"
#: OR-ed into ``session.exitstatus`` when ``--xray-unused=fail`` finds unused baselines
EXIT_STATUS_FAIL_UNUSED = 1
UNUSED_POLICIES = ("report", "fail", "ignore")
#: key of the JSON string a pytest-xdist worker hands to the controller
WORKER_OUTPUT_KEY = "xray"
RUN_ID_INPUT_KEY = "xray_run_id"
#: whether pytest-xdist workers write their tests to ``--xray-db`` (the run row exists)
DB_INPUT_KEY = "xray_db"
#: the environment variable naming the run id (like ``--xray-run-id``), shared by CI shards
RUN_ID_ENV = "XRAY_RUN_ID"
