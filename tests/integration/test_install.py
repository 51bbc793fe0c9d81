"""Installable anywhere: the wheel carries the shipped pipelines, lifecycle policies and
index templates, so an installed logpipe works from any directory.

Before, ``logpipe check --pipeline graphmemory`` answered "pipeline 'graphmemory'
not found" outside the source checkout, and ``logpipe setup`` found no ``ilm/``
or ``index_templates/``. The wheel is built from this checkout and installed into
a fresh virtualenv (pip's cache keeps that quick); the commands run from an
empty directory.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md", "logpipe", "pipelines", "ilm",
          "index_templates")

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


def sh(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=500)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The ``logpipe`` command of a fresh virtualenv holding the wheel built from this checkout."""
    work = tmp_path_factory.mktemp("install")
    # Built from a copy, so the build leaves nothing behind in the checkout.
    source = work / "source"
    for name in SOURCE:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            source.mkdir(exist_ok=True)
            shutil.copy2(path, source / name)
    wheels = work / "wheels"
    build = sh(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", wheels, source, cwd=work)
    assert build.returncode == 0, build.stderr[-3000:]
    [wheel] = wheels.glob("logpipe-*.whl")
    venv = work / "venv"
    made = sh(sys.executable, "-m", "venv", venv, cwd=work)
    assert made.returncode == 0, made.stderr
    pip = sh(venv / "bin" / "python", "-m", "pip", "install", "-q", wheel, cwd=work)
    assert pip.returncode == 0, pip.stderr[-3000:]
    return venv / "bin" / "logpipe"


def test_check_finds_the_shipped_pipeline_from_any_directory(installed: Path, tmp_path: Path) -> None:
    result = sh(installed, "check", "--pipeline", "graphmemory", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "configuration OK" in result.stdout
    # It is the installed package's copy, not this checkout's.
    where = sh(installed.parent / "python", "-c",
               "from logpipe.shipped import shipped; print(shipped('pipelines'))", cwd=tmp_path)
    assert "site-packages/logpipe/_shipped/pipelines" in where.stdout, where.stdout + where.stderr


def test_setup_finds_the_shipped_policies_and_templates(installed: Path, tmp_path: Path,
                                                        es_url: str) -> None:
    result = sh(installed, "setup", "--pipeline", "graphmemory", "--es", es_url, "--dry-run",
                cwd=tmp_path)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "logs-graphmemory.access" in output
    assert "neither ilm/ nor index_templates/" not in output


def test_a_directory_of_ones_own_comes_first(installed: Path, tmp_path: Path) -> None:
    own = tmp_path / "pipelines"
    own.mkdir()
    (own / "graphmemory.yaml").write_text("inputs: [{type: generator, count: 1}]\n"
                                          "outputs: [{type: blackhole}]\n")
    result = sh(installed, "check", "--pipeline", "graphmemory", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "blackhole" in result.stdout and "elasticsearch" not in result.stdout
