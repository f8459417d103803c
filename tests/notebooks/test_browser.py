"""A real browser on the analysts' JupyterLab: `make lab` serves it, headless Chromium opens
notebook 03 (as `pipeline validate` executed it, so with its tables and plots), the test
reads the rendered page and keeps a screenshot under reports/browser/.

Chromium is Debian's package, which `make test` installs as root when it is missing;
where no browser can be had the test is skipped, saying so, never passed.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline.aws.settings import REPO_ROOT

pytestmark = pytest.mark.notebooks

NOTEBOOK = "03_query_warehouse.ipynb"
SCREENSHOT = REPO_ROOT / "reports" / "browser" / "03_query_warehouse.png"
# Flags for a browser in a container: no sandbox (root), no GPU, and nothing fetched
# from the network but the page itself.
CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--hide-scrollbars", "--window-size=1280,4800",
    # JupyterLab renders after its scripts load; the browser waits until the page is idle,
    # up to this much virtual time (a bound on a hang, not a measure of speed)
    "--virtual-time-budget=30000",
)
# A bound on starting the server, so a broken start fails rather than hangs.
START_LIMIT_S = 180.0


def chromium() -> str:
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    pytest.skip("no Chromium on PATH: `make test` installs Debian's chromium when run as "
                "root; elsewhere `apt-get install chromium`")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def executed_notebook(loaded_warehouse: Path, tmp_path: Path) -> Path:
    """Notebook 03 as `pipeline validate` leaves it: executed, with outputs."""
    from pipeline.cli import main

    reports = tmp_path / "served"
    code = main(["validate", "--warehouse", str(loaded_warehouse), "--reports", str(reports),
                 "--notebook", "03"])
    assert code == 0
    return reports / NOTEBOOK


@pytest.fixture
def lab(executed_notebook: Path, tmp_path: Path) -> Iterator[str]:
    """`make lab` serving the executed notebook's folder on a free port; the notebook's URL."""
    if shutil.which("make") is None:
        pytest.skip("no `make` on PATH to run `make lab`")
    port, token = free_port(), secrets.token_hex(16)
    options = " ".join([
        "--no-browser", f"--port={port}", "--ServerApp.port_retries=0",
        "--ServerApp.ip=127.0.0.1", f"--IdentityProvider.token={token}",
        f"--LabApp.workspaces_dir={tmp_path / 'workspaces'}",
    ])
    log = (tmp_path / "lab.log").open("w")
    # the executed copy's folder, so nothing the lab writes (checkpoints, autosave) touches
    # notebooks/; this interpreter's environment, installed already (no STAMP to remake)
    command = ["make", "-s", "lab", f"BIN={Path(sys.executable).parent}", "STAMP=",
               f"LAB_DIR={executed_notebook.parent}", f"LAB_ARGS={options}"]
    server = subprocess.Popen(command, cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT,
                              env={**os.environ, "JUPYTER_RUNTIME_DIR": str(tmp_path / "rt")},
                              start_new_session=True)
    try:
        status = f"http://127.0.0.1:{port}/api/status?token={token}"
        deadline = time.monotonic() + START_LIMIT_S
        while True:
            if server.poll() is not None:
                pytest.fail(f"`make lab` exited {server.returncode}:\n"
                            + (tmp_path / "lab.log").read_text())
            try:
                with urllib.request.urlopen(status, timeout=5) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("`make lab` did not answer:\n" + (tmp_path / "lab.log").read_text())
            time.sleep(0.5)
        yield f"http://127.0.0.1:{port}/lab/tree/{NOTEBOOK}?token={token}"
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)  # make and the server it started, ours alone
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        log.close()


def browse(browser: str, url: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    """One headless Chromium run on a fresh profile."""
    profile = tmp_path / f"profile-{secrets.token_hex(4)}"
    done = subprocess.run([browser, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args, url],
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def test_jupyterlab_renders_notebook_03_in_chromium_and_a_screenshot_is_kept(
    lab: str, tmp_path: Path,
) -> None:
    import matplotlib.image

    browser = chromium()
    page = browse(browser, lab, tmp_path, "--dump-dom").stdout
    assert "jp-Notebook" in page and "jp-Cell " in page, page[:2000]
    assert "Querying the warehouse" in page  # the first cell, its markdown rendered
    assert "%%sql" in page  # the SQL cells' text, in their editors
    assert "mentions" in page  # the top tickers the %%sql << cell stored, as a table
    assert page.count("<img") >= 2, "the notebook's plots were not rendered"

    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    SCREENSHOT.unlink(missing_ok=True)
    browse(browser, lab, tmp_path, f"--screenshot={SCREENSHOT}")
    image = matplotlib.image.imread(str(SCREENSHOT))
    assert image.shape[1] == 1280
    # not a blank page: a rendered notebook has text and toolbars, far from one colour
    assert image[..., :3].std() > 0.05, "the screenshot is (nearly) one colour"


def test_without_chromium_the_browser_test_is_skipped_saying_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # a PATH holding no browser
    with pytest.raises(pytest.skip.Exception, match="no Chromium on PATH: `make test` installs"):
        chromium()
