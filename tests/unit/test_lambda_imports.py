"""The Lambda handlers import with only what the runtime and the Powertools layer provide."""

import subprocess
import sys

import pytest

pytestmark = pytest.mark.unit

# Not in the Lambda runtime: both functions have only boto3 and the Powertools layer
# (tests/cdk/test_rehearsal.py runs them in exactly that environment).
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
