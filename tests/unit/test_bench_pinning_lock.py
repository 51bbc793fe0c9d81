"""Only one e2e run pins Elasticsearch's cores at a time.

Two runs at once would each save the other's pinning as the affinity to restore.
The lock must keep a second holder out while the first has it, including one in
another process, and be free again once the holder releases it or dies.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from logpipe.bench.pinning import PinningLock

HOLDER = """
import sys
from pathlib import Path
from logpipe.bench.pinning import PinningLock
lock = PinningLock(Path(sys.argv[1]))
assert lock.acquire(wait=False)
print("held", flush=True)
sys.stdin.read()  # until the test closes our stdin; then exit without releasing
"""


def test_second_holder_is_kept_out_until_release(tmp_path: Path) -> None:
    path = tmp_path / "pinning.lock"
    first, second = PinningLock(path), PinningLock(path)
    assert first.acquire(wait=False)
    assert first.acquire(wait=False)  # taking it again while holding it is a no-op
    assert not second.acquire(wait=False)
    first.release()
    assert second.acquire(wait=False)
    second.release()


def test_a_holder_in_another_process_keeps_it_until_it_exits(tmp_path: Path) -> None:
    path = tmp_path / "pinning.lock"
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(path)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
        mine = PinningLock(path)
        assert not mine.acquire(wait=False)
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait(timeout=30)
    assert mine.acquire(wait=False)  # the kernel dropped the dead holder's lock
    mine.release()
