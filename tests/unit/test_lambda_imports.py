"""The Lambda handlers import with only what the runtime and the managed layers provide."""

import subprocess
import sys

import pytest

pytestmark = pytest.mark.unit

# Not in the Lambda runtime: the loader has only the Powertools layer; the publisher
# adds AWS SDK for pandas (pandas, numpy, pyarrow), which it uses only when reading.
ABSENT_IN_LAMBDA = ["pandas", "pyarrow", "numpy", "duckdb", "sqlglot", "moto",
                    "redshift_connector", "matplotlib", "papermill", "psutil"]


def test_handlers_import_without_the_offline_and_heavy_libraries():
    code = (
        "import sys\n"
        f"for name in {ABSENT_IN_LAMBDA!r}: sys.modules[name] = None\n"
        "import pipeline.lambdas.loader, pipeline.lambdas.publisher\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=False)
    assert result.returncode == 0, result.stderr
