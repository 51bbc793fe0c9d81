"""The package type-checks: mypy (with the pydantic plugin) finds nothing in logpipe/."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(300)
def test_mypy_is_clean() -> None:
    result = subprocess.run([sys.executable, "-m", "mypy", "logpipe"], cwd=ROOT, capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
