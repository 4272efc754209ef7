"""Every notebooks/*.ipynb runs from top to bottom without an error (with nbclient), and is stored
without outputs.

The kernel is this interpreter (sys.executable, through a kernel spec written to a temporary
directory): the notebooks see the same convergent as the tests, and nothing has to be installed
with ``ipykernel install`` first. Needs the ``notebooks`` extra (``pip install .[notebooks]``).
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("*.ipynb"))
CELL_TIMEOUT = 300  # seconds for one cell


def test_the_notebooks_are_there() -> None:
    names = [p.name for p in NOTEBOOKS]
    assert names[:3] == ["01-quick-start.ipynb", "02-convergence.ipynb", "03-consistency.ipynb"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_is_stored_without_outputs(path: Path) -> None:
    nb = json.loads(path.read_text())
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None, path.name


@pytest.fixture(scope="module")
def kernel_spec_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A kernel spec running this interpreter."""
    root = tmp_path_factory.mktemp("kernels")
    spec = root / "convergent-test"
    spec.mkdir()
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    kernel = {"argv": argv, "display_name": "convergent tests", "language": "python"}
    (spec / "kernel.json").write_text(json.dumps(kernel))
    return root


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(path: Path, kernel_spec_dir: Path) -> None:
    pytest.importorskip("nbclient", reason="the notebooks extra is not installed (.[notebooks])")
    import nbformat
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    specs = KernelSpecManager(kernel_dirs=[str(kernel_spec_dir)], ensure_native_kernel=False)
    # Unix sockets in the temporary directory: the kernel's ports stay off the network.
    ipc = str(kernel_spec_dir / f"{path.stem}-ipc")
    km = KernelManager(
        kernel_name="convergent-test", kernel_spec_manager=specs, transport="ipc", ip=ipc
    )
    # Headless: the kernel's inline backend renders figures to PNG outputs (never a window).
    env: dict[str, Any] = {**os.environ, "MPLBACKEND": "module://matplotlib_inline.backend_inline"}
    client = NotebookClient(
        nb,
        km=km,
        timeout=CELL_TIMEOUT,
        resources={"metadata": {"path": str(path.parent)}},
    )
    start = time.monotonic()
    try:
        client.execute(env=env)  # CellExecutionError (with the cell's traceback) if a cell raises
    finally:
        if km.has_kernel:  # nbclient shuts down only the kernels of managers it made
            km.shutdown_kernel(now=True)
    took = time.monotonic() - start
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(c.execution_count is not None for c in code)
    errors = [o for c in code for o in c.outputs if o.output_type == "error"]
    assert errors == [], errors
    print(f"{path.name}: {took:.1f} s")
