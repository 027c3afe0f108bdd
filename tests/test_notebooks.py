"""The notebooks in notebooks/: each runs top to bottom offline, and none is stored with outputs.

Each notebook is executed with nbclient in a fresh ``python3`` kernel of this interpreter
(``sys.executable``, through a kernelspec written for the test), with the repo root as working
directory and ``OPENAI_API_KEY`` removed, so it takes its scripted-model path. The Postgres
notebook gets the session's throwaway database (``pg_url``) through ``AGNO_LEARN_NOTEBOOK_PG``.
The kernel is a separate process, reached over ZMQ on loopback, which pytest-socket's
``--allow-hosts`` leaves alone.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = ROOT / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
POSTGRES_NOTEBOOKS = {"04_postgres_persistence.ipynb"}
EXPECTED = {
    "01_always_mode.ipynb",
    "02_agentic_tools.ipynb",
    "03_propose_interrupt.ipynb",
    "04_postgres_persistence.ipynb",
    "05_combining_modes.ipynb",
}
KERNEL_TIMEOUT_S = 180


@pytest.fixture(scope="module")
def kernel_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A ``python3`` kernelspec that starts this interpreter, whatever else is installed."""
    data = tmp_path_factory.mktemp("jupyter")
    spec = data / "kernels" / "python3"
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    kernel = {"argv": argv, "display_name": "Python 3 (test)", "language": "python"}
    (spec / "kernel.json").write_text(json.dumps(kernel))
    return data


def run_notebook(path: Path, kernel_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Execute ``path`` offline from the repo root; raise on the first failing cell."""
    import nbclient
    import nbformat

    monkeypatch.setenv("JUPYTER_PATH", str(kernel_dir))  # searched before the user's kernels
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("AGNO_LEARN_MODEL", raising=False)
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        nb,
        kernel_name="python3",
        resources={"metadata": {"path": str(ROOT)}},
        timeout=KERNEL_TIMEOUT_S,
    )
    client.execute()
    return nb


def _stdout(nb: Any) -> str:
    return "".join(
        out.get("text", "")
        for cell in nb.cells
        if cell.cell_type == "code"
        for out in cell.outputs
        if out.output_type == "stream" and out.name == "stdout"
    )


@pytest.mark.notebook
def test_notebook_kernel_runs_this_interpreter(
    kernel_dir: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import nbformat

    probe = nbformat.v4.new_notebook()
    probe.cells.append(
        nbformat.v4.new_code_cell("import os, sys; print(sys.executable, os.getcwd())")
    )
    path = tmp_path / "probe.ipynb"
    nbformat.write(probe, path)
    assert _stdout(run_notebook(path, kernel_dir, monkeypatch)).split() == [
        sys.executable,
        str(ROOT),
    ]


@pytest.mark.notebook
@pytest.mark.parametrize(
    "path",
    [p for p in NOTEBOOKS if p.name not in POSTGRES_NOTEBOOKS],
    ids=lambda p: p.stem,
)
def test_notebook_runs_offline(
    path: Path, kernel_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    nb = run_notebook(path, kernel_dir, monkeypatch)
    assert "Model: scripted (offline)" in _stdout(nb)


@pytest.mark.notebook
@pytest.mark.parametrize(
    "path",
    [p for p in NOTEBOOKS if p.name in POSTGRES_NOTEBOOKS],
    ids=lambda p: p.stem,
)
def test_postgres_notebook_resumes_from_a_new_process(
    path: Path, pg_url: str, kernel_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AGNO_LEARN_NOTEBOOK_PG", pg_url)
    nb = run_notebook(path, kernel_dir, monkeypatch)
    out = _stdout(nb)
    assert "Model: scripted (offline)" in out
    assert pg_url.rsplit("/", 1)[-1] in out  # it used the throwaway database, not the default
    assert "The new process: {'interrupted': False" in out
    assert ": approved by rita [proposed -> approve]" in out


def test_every_notebook_is_present_and_stored_without_outputs() -> None:
    assert {p.name for p in NOTEBOOKS} == EXPECTED
    for path in NOTEBOOKS:
        nb = json.loads(path.read_text())
        code = [c for c in nb["cells"] if c["cell_type"] == "code"]
        with_outputs = [i for i, c in enumerate(nb["cells"]) if c.get("outputs")]
        counted = [i for i, c in enumerate(code) if c.get("execution_count") is not None]
        assert not with_outputs, f"{path.name}: cells {with_outputs} have outputs; clear them"
        assert not counted, f"{path.name}: code cells {counted} have execution counts; clear them"


def test_every_notebook_explains_its_mode_first_and_picks_the_model() -> None:
    for path in NOTEBOOKS:
        cells = json.loads(path.read_text())["cells"]
        first = "".join(cells[0]["source"])
        assert cells[0]["cell_type"] == "markdown" and first.startswith("# "), path.name
        assert 8 <= len(cells) <= 15, f"{path.name}: {len(cells)} cells"
        sources = ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]
        assert any("resolve_chat_model() or ScriptedChatModel(" in s for s in sources), path.name
        assert "sys.path.insert" in sources[0], f"{path.name}: first code cell sets sys.path"
