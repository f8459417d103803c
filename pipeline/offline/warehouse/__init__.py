"""The embedded Redshift Data API: a local HTTP endpoint that runs Redshift SQL on DuckDB.

`EmbeddedDataApi.start(path, settings)` serves ExecuteStatement,
BatchExecuteStatement, DescribeStatement, GetStatementResult and CancelStatement
on 127.0.0.1 so an unmodified `boto3.client("redshift-data", endpoint_url=...)`
works offline. Names are imported lazily: importing this package opens nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pipeline.offline.warehouse.server import EmbeddedDataApi
    from pipeline.offline.warehouse.translate import UnsupportedSqlError, to_duckdb

__all__ = ["EmbeddedDataApi", "UnsupportedSqlError", "to_duckdb"]

_EXPORTS = {
    "EmbeddedDataApi": "pipeline.offline.warehouse.server",
    "UnsupportedSqlError": "pipeline.offline.warehouse.translate",
    "to_duckdb": "pipeline.offline.warehouse.translate",
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
