"""`pipeline validate`: execute the notebooks with papermill as smoke checks and write reports.

Every notebook in notebooks/ runs on a real kernel with parameters naming the
warehouse (and, after a deploy, the stack's outputs). The executed notebooks
and an HTML rendering of each go to the reports folder; a notebook fails when
a cell raises, and the result names the cell's error (the notebooks' checks
raise `SmokeCheckError` with a message saying what is wrong).
"""

from __future__ import annotations

import sys
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.aws.settings import REPO_ROOT, Settings
from pipeline.core.errors import ConfigError

NOTEBOOKS_DIR = REPO_ROOT / "notebooks"
DEFAULT_REPORTS = Path("reports")
KERNEL_NAME = "pipeline"  # installed by `make install` into the venv
FALLBACK_KERNEL = "python3"

Progress = Callable[[str], None]

# How long `validate --target redshift` waits for the first load of a fresh deployment: one
# drain period at the default `pipeline:loadEvery` (5 min), plus the loader's timeout (300 s,
# a drain may run that long) and a minute's margin.
FIRST_LOAD_WAIT_S = 5 * 60 + 300 + 60
FIRST_LOAD_POLL_S = 15.0


def wait_for_first_load(
    count_parts: Callable[[], int],
    *,
    timeout_s: float = FIRST_LOAD_WAIT_S,
    poll_s: float = FIRST_LOAD_POLL_S,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    progress: Progress = lambda _: None,
) -> int:
    """Poll the ledger until it holds a part; the number of parts, or SmokeCheckError.

    Right after `cdk deploy` the ledger is empty until the first scheduled drain: an empty
    ledger then means "not yet", not "broken". After `timeout_s` it means broken.
    """
    from pipeline.analysis.checks import SmokeCheckError

    deadline = clock() + timeout_s
    while True:
        parts = int(count_parts())
        if parts > 0:
            return parts
        left = deadline - clock()
        if left <= 0:
            raise SmokeCheckError(
                f"no part loaded after waiting {timeout_s:g} s for the first load: is the "
                "drain's schedule enabled, and does the loader's log show errors?")
        progress(f"waiting for the first load: the ledger is empty ({left:.0f} s left)")
        sleep(min(poll_s, left))


def ledger_parts(values: dict[str, Any], data_api_endpoint_url: str | None = None) -> int:
    """Parts in the load ledger of the warehouse the notebook parameters name.

    `data_api_endpoint_url` (the `PIPELINE_DATA_API_ENDPOINT_URL` setting) points the Data
    API elsewhere, as for the embedded endpoint; None keeps boto3's own resolution.
    """
    import dataclasses

    from pipeline.analysis.checks import NotebookTarget
    from pipeline.analysis.warehouse import connect
    from pipeline.aws import sql

    fields = ("target", "warehouse_path", "schema", "workgroup", "cluster", "database",
              "region", "stack_outputs")
    target = NotebookTarget.from_parameters(**{k: values[k] for k in fields if k in values})
    if data_api_endpoint_url and target.target == "redshift":
        settings = dataclasses.replace(target.settings(),
                                       data_api_endpoint_url=data_api_endpoint_url)
        opened = connect("redshift", settings)
    else:
        opened = target.connect()
    with opened as conn:
        frame = conn.query(sql.render_ledger_lookup(target.schema))
    return int(frame["parts"].iloc[0])


@dataclass(frozen=True)
class NotebookResult:
    """How one notebook run ended; `message` is the failing cell's error, if any."""

    notebook: str
    status: str  # "passed", "failed", or "skipped" (it ran, but a check could not)
    seconds: float
    message: str = ""
    executed: Path | None = None
    report: Path | None = None

    @property
    def passed(self) -> bool:
        return self.status == "passed"

    @property
    def failed(self) -> bool:
        return self.status == "failed"


def discover(directory: Path = NOTEBOOKS_DIR, only: Sequence[str] = ()) -> list[Path]:
    """The notebooks to run, in name order; `only` keeps those whose name contains one of them."""
    found = sorted(p for p in directory.glob("*.ipynb") if not p.name.startswith("."))
    if only:
        found = [p for p in found if any(o in p.name for o in only)]
        if not found:
            raise ConfigError(f"no notebook in {directory} matches {', '.join(only)}")
    if not found:
        raise ConfigError(f"no notebooks in {directory}")
    return found


def parameters(
    settings: Settings, *, target: str, stack_outputs: Path | None = None
) -> dict[str, Any]:
    """Parameters for every notebook, from the settings; stack outputs win where they say.

    Paths are made absolute here: the notebooks run with the notebooks folder
    as working directory.
    """
    if stack_outputs is not None:
        settings = settings.with_stack_outputs(stack_outputs)
    return {
        "target": target,
        "warehouse_path": str(Path(settings.warehouse_path).expanduser().absolute()),
        "dataset_path": str(Path(settings.dataset_path).expanduser().absolute()),
        "schema": settings.schema,
        "workgroup": settings.redshift_workgroup or "",
        "cluster": settings.redshift_cluster or "",
        "database": settings.redshift_database,
        "region": settings.region,
        "dlq_url": settings.dlq_url or "",
        "aws_endpoint_url": settings.aws_endpoint_url or "",
        "stack_outputs": str(Path(stack_outputs).absolute()) if stack_outputs else "",
    }

def kernel_name() -> str:
    """The `pipeline` kernel when it runs this interpreter's environment, else `python3`.

    A `pipeline` kernelspec left over from another checkout would import another
    copy of the package; the fallback is the current interpreter's own kernel.
    """
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        spec = KernelSpecManager().get_kernel_spec(KERNEL_NAME)
    except NoSuchKernel:
        return FALLBACK_KERNEL
    program = Path(spec.argv[0]) if spec.argv else Path()
    here = Path(sys.executable).absolute().parent
    if program.is_absolute() and program.parent != here:
        return FALLBACK_KERNEL
    return KERNEL_NAME


def ipc_kernel_manager() -> type:
    """Jupyter's kernel manager on the IPC transport (Unix sockets in the runtime directory).

    Over TCP, ipykernel warns on every start that its traffic is unencrypted; a local
    smoke run needs no network at all. Each kernel gets its own socket paths in the
    runtime directory: jupyter_client's default, read before the connection file is
    named, is `kernel-ipc-N` in the working directory (papermill's `cwd`, the notebooks
    folder), so two validations at once took each other's sockets and failed with
    "Invalid Signature".
    """
    from jupyter_client.manager import AsyncKernelManager
    from jupyter_core.paths import jupyter_runtime_dir
    from traitlets import CaselessStrEnum, default

    class IpcKernelManager(AsyncKernelManager):
        transport = CaselessStrEnum(["tcp", "ipc"], default_value="ipc", config=True)

        @default("ip")
        def _own_socket_paths(self) -> str:
            runtime = Path(jupyter_runtime_dir())
            runtime.mkdir(parents=True, exist_ok=True)
            return str(runtime / f"kernel-{uuid.uuid4()}-ipc")

        async def _async_launch_kernel(self, kernel_cmd: list[str], **kw: Any) -> None:
            # jupyter_client's documented override point. The kernel's own stderr goes to a
            # file beside its sockets: papermill reports what the notebook printed, and a
            # kernel whose parent was stopped by Ctrl-C would print a traceback on the
            # user's terminal after "interrupted".
            kw.setdefault("stderr", open(f"{self.ip}.stderr.log", "ab"))  # noqa: SIM115
            await super()._async_launch_kernel(kernel_cmd, **kw)

    return IpcKernelManager


def execute(
    notebook: Path,
    reports: Path,
    values: dict[str, Any],
    *,
    kernel: str,
    timeout_s: float = 600.0,
) -> NotebookResult:
    """Run one notebook with papermill; write the executed copy and its HTML to `reports`."""
    import papermill as pm

    reports.mkdir(parents=True, exist_ok=True)
    executed = reports / notebook.name
    declared = pm.inspect_notebook(str(notebook))
    given = {k: v for k, v in values.items() if k in declared}
    started = time.monotonic()
    status, message = "passed", ""
    try:
        pm.execute_notebook(
            str(notebook),
            str(executed),
            parameters=given,
            kernel_name=kernel,
            cwd=str(notebook.parent),
            progress_bar=False,
            log_output=False,
            execution_timeout=timeout_s,
            kernel_manager_class=ipc_kernel_manager(),
        )
    except pm.PapermillExecutionError as exc:
        status = "failed"
        where = f"cell {exc.exec_count}" if exc.exec_count else f"cell #{exc.cell_index}"
        message = f"{where}: {exc.ename}: {exc.evalue}"
    except Exception as exc:  # the kernel died, would not start, timed out, ...
        status = "failed"
        message = f"{type(exc).__name__}: {exc}"
    seconds = time.monotonic() - started
    if status == "passed" and executed.exists():
        reasons = skipped_checks(executed)
        if reasons:
            status, message = "skipped", "; ".join(reasons)
    report = write_html(executed) if executed.exists() else None
    return NotebookResult(
        notebook=notebook.name,
        status=status,
        seconds=round(seconds, 1),
        message=" ".join(message.split()),
        executed=executed if executed.exists() else None,
        report=report,
    )


def skipped_checks(executed: Path) -> list[str]:
    """The reasons of the checks an executed notebook printed as skipped (`checks.skipped`)."""
    import nbformat

    from pipeline.analysis.checks import SKIPPED_MARK

    reasons = []
    for cell in nbformat.read(executed, as_version=4).cells:
        for output in cell.get("outputs", []):
            text = output.get("text", "") if output.get("output_type") == "stream" else ""
            reasons += [line[len(SKIPPED_MARK):].strip() for line in str(text).splitlines()
                        if line.startswith(SKIPPED_MARK)]
    return reasons


# JupyterLab's HTML template, minus the three scripts it loads from a CDN (require.js,
# MathJax, mermaid): the reports hold tables, text and inlined PNG plots, which need none
# of them, and a report must render with no network.
OFFLINE_TEMPLATE = """{%- extends 'lab/index.html.j2' -%}
{%- block html_head_js_requirejs -%}{%- endblock html_head_js_requirejs -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
"""


def write_html(executed: Path) -> Path:
    """Render an executed notebook to a self-contained HTML file next to it (plots inlined).

    No remote script: the file renders offline.
    """
    import jinja2
    import nbformat
    from nbconvert import HTMLExporter

    node = nbformat.read(executed, as_version=4)
    exporter = HTMLExporter(
        extra_loaders=[jinja2.DictLoader({"offline.html.j2": OFFLINE_TEMPLATE})],
        template_file="offline.html.j2",
    )
    body, _ = exporter.from_notebook_node(node)
    html = executed.with_suffix(".html")
    html.write_text(body, encoding="utf-8")
    return html


def validate(
    settings: Settings,
    *,
    target: str = "local",
    stack_outputs: Path | None = None,
    reports: Path = DEFAULT_REPORTS,
    only: Sequence[str] = (),
    notebooks_dir: Path = NOTEBOOKS_DIR,
    progress: Progress = lambda _: None,
    first_load_wait_s: float = FIRST_LOAD_WAIT_S,
    sleep: Callable[[float], None] = time.sleep,
) -> list[NotebookResult]:
    """Run every notebook (or those matching `only`) and return one result per notebook.

    On a deployed warehouse it first waits (up to `first_load_wait_s`) for the first load,
    so validating right after `cdk deploy` checks the pipeline instead of its start-up.
    """
    found = discover(notebooks_dir, only)
    values = parameters(settings, target=target, stack_outputs=stack_outputs)
    if target == "redshift" and first_load_wait_s > 0:
        parts = wait_for_first_load(
            lambda: ledger_parts(values, settings.data_api_endpoint_url),
            timeout_s=first_load_wait_s, sleep=sleep, progress=progress)
        progress(f"the ledger holds {parts} loaded part(s)")
    kernel = kernel_name()
    results = []
    for index, notebook in enumerate(found, start=1):
        progress(f"[{index}/{len(found)}] {notebook.name}: running (kernel {kernel}) ...")
        result = execute(notebook, reports, values, kernel=kernel)
        progress(f"[{index}/{len(found)}] {notebook.name}: {result.status} in "
                 f"{result.seconds:.1f} s" + (f": {result.message}" if result.message else ""))
        results.append(result)
    return results


def summary_rows(results: Sequence[NotebookResult], width: int = 100) -> list[list[str]]:
    """Rows of the pass/fail table: notebook, status, seconds, message (shortened)."""
    rows = []
    for r in results:
        message = r.message if len(r.message) <= width else r.message[: width - 1] + "…"
        rows.append([r.notebook, r.status.upper(), f"{r.seconds:.1f}", message])
    return rows
