"""What `langgraph build` would ship: the Dockerfile `langgraph dockerfile` writes for the
recipes, a build context that `.dockerignore` keeps small, and graphs that load from it."""

from __future__ import annotations

import fnmatch
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def ignored(rel: str, patterns: list[str]) -> bool:
    parts = rel.split("/")
    for pattern in patterns:
        bare = pattern.rstrip("/").removeprefix("**/")
        if any(fnmatch.fnmatch(part, bare) for part in parts) or fnmatch.fnmatch(rel, bare):
            return True
    return False


def build_context(dest: Path) -> list[str]:
    """Copy the tracked and untracked-but-not-git-ignored files `.dockerignore` lets through."""
    patterns = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    kept = [rel for rel in listed if not ignored(rel, patterns) and (ROOT / rel).is_file()]
    for rel in kept:
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / rel, dest / rel)
    return kept


def test_dockerignore_keeps_the_venv_and_local_state_out() -> None:
    patterns = (ROOT / ".dockerignore").read_text().splitlines()
    for rel in [
        ".venv/bin/python",
        "agno_learn_langgraph/__pycache__/x.pyc",
        ".langgraph_api/store.pckl",
        "demo.db",
        ".git/HEAD",
    ]:
        assert ignored(rel, [p for p in patterns if p and not p.startswith("#")]), rel
    assert ".langgraph_api/" in (ROOT / ".gitignore").read_text().splitlines()


def test_the_generated_dockerfile_serves_every_recipe_and_the_drain_app(tmp_path: Path) -> None:
    langgraph = shutil.which("langgraph", path=str(Path(sys.executable).parent))
    assert langgraph, "langgraph-cli is part of the test extra: pip install -e '.[test]'"
    out = subprocess.run(
        [langgraph, "dockerfile", "-c", "langgraph.json", str(tmp_path / "Dockerfile")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "LANGGRAPH_CLI_NO_ANALYTICS": "1"},
    )
    assert out.returncode == 0, out.stderr
    dockerfile = (tmp_path / "Dockerfile").read_text()
    graphs = json.loads((ROOT / "langgraph.json").read_text())["graphs"]
    for name, spec in graphs.items():
        assert f'"{name}": "/deps/{ROOT.name}/{spec.removeprefix("./")}"' in dockerfile
    assert f"/deps/{ROOT.name}/nodes/webapp.py:app" in dockerfile  # named after the clone


@pytest.mark.parametrize("graph", ["always", "agentic", "propose", "combined"])
def test_each_recipe_loads_from_the_build_context(tmp_path: Path, graph: str) -> None:
    """As the image would: the project copied without what .dockerignore drops, loaded by path."""
    context = tmp_path / "deps" / "main"
    kept = build_context(context)
    assert not any(rel.startswith(".venv/") for rel in kept)
    spec = json.loads((ROOT / "langgraph.json").read_text())["graphs"][graph]
    path, attr = spec.rsplit(":", 1)
    code = (
        "import importlib.util, sys\n"
        f"spec = importlib.util.spec_from_file_location('served', {path!r})\n"
        "module = importlib.util.module_from_spec(spec); sys.modules['served'] = module\n"
        "spec.loader.exec_module(module)\n"
        "import agno_learn_langgraph as package\n"
        f"assert package.__file__.startswith({str(context)!r}), package.__file__\n"
        f"print(type(getattr(module, {attr!r})).__name__)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(context)}
    env.pop("OPENAI_API_KEY", None)
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=context,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "CompiledStateGraph"
    assert "offline scripted model" in done.stderr  # a served graph says it cannot learn
