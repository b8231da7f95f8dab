"""The evolve subprocess: JSON lines read asynchronously, the whole process group stopped."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import textwrap
import time
from pathlib import Path

import pytest

from nnevolve.lsp.evolve_process import EvolveProcess, group_alive

# A stand-in for `nnevolve evolve --progress-jsonl`: two workers in its process group,
# progress on stdout, noise on stdout and stderr, and a SIGTERM policy chosen by argv[1].
FAKE_ENGINE = textwrap.dedent(
    """
    import ctypes, json, signal, subprocess, sys, threading, time
    workers = [subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
               for _ in range(2)]
    print(json.dumps({"event": "workers", "pids": [w.pid for w in workers]}), flush=True)
    def stop(signum, frame):
        for w in workers:
            w.kill()
            w.wait()
        print(json.dumps({"event": "result", "status": "cancelled"}), flush=True)
        sys.exit(130)
    def stop_slowly(signum, frame):
        # the last line, then the main thread ends while another lives on: the process is a
        # zombie that cannot be reaped yet (the kernel's slow teardown of a big engine)
        print(json.dumps({"event": "result", "status": "cancelled"}), flush=True)
        threading.Thread(target=time.sleep, args=(600,)).start()
        ctypes.CDLL(None).pthread_exit(None)
    if sys.argv[1] == "graceful":
        signal.signal(signal.SIGTERM, stop)
    elif sys.argv[1] == "slow-exit":
        signal.signal(signal.SIGTERM, stop_slowly)
    else:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    print("a library's stray line", flush=True)
    print("warming up", file=sys.stderr, flush=True)
    for generation in range(1000):
        print(json.dumps({"event": "progress", "generation": generation}), flush=True)
        time.sleep(0.05)
    """
)


def alive(pid: int) -> bool:
    """Whether a process exists and is not a zombie (read from /proc)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


async def start_fake(policy: str, tmp_path: Path) -> tuple[EvolveProcess, list[int]]:
    script = tmp_path / "engine.py"
    script.write_text(FAKE_ENGINE)
    process = await EvolveProcess.start([sys.executable, str(script), policy], cwd=tmp_path)
    messages = process.messages()
    first = await asyncio.wait_for(messages.__anext__(), timeout=20)
    assert first["event"] == "workers"
    second = await asyncio.wait_for(messages.__anext__(), timeout=20)
    assert second == {"event": "progress", "generation": 0}  # the stray line was skipped
    await messages.aclose()
    return process, first["pids"]


@pytest.mark.skipif(sys.platform == "win32", reason="process groups are POSIX")
async def test_the_run_gets_its_own_process_group(tmp_path: Path) -> None:
    process, workers = await start_fake("graceful", tmp_path)
    try:
        assert os.getpgid(process.pid) == process.pid != os.getpgid(0)
        assert all(os.getpgid(pid) == process.pid for pid in workers)
    finally:
        await process.stop()


@pytest.mark.skipif(sys.platform == "win32", reason="process groups are POSIX")
async def test_stop_lets_a_graceful_engine_finish_and_leaves_no_process(tmp_path: Path) -> None:
    process, workers = await start_fake("graceful", tmp_path)
    started = time.monotonic()
    await process.stop()
    assert time.monotonic() - started < 3
    assert await process.wait() == 130
    assert not process.group_alive() and not group_alive(process.pgid)
    assert not any(alive(pid) for pid in workers)
    assert "warming up" in process.stderr_tail()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="zombies are read from /proc")
async def test_stop_does_not_wait_for_an_exited_engine_to_be_reaped(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    process, workers = await start_fake("slow-exit", tmp_path)
    started = time.monotonic()
    await process.stop()
    # it exited at once: its group goes then, not after the grace, and it is not said to
    # have ignored SIGTERM
    assert time.monotonic() - started < 3
    assert not process.group_alive() and not any(alive(pid) for pid in workers)
    assert "ignored SIGTERM" not in caplog.text
    assert await asyncio.wait_for(process.wait(), 10) != 0


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="zombies are read from /proc")
async def test_wait_ends_an_exited_engine_that_is_slow_to_be_reaped(tmp_path: Path) -> None:
    process, workers = await start_fake("slow-exit", tmp_path)
    os.kill(process.pid, signal.SIGTERM)
    started = time.monotonic()
    await asyncio.wait_for(process.wait(), 10)
    assert time.monotonic() - started < 3
    assert not process.group_alive() and not any(alive(pid) for pid in workers)


@pytest.mark.skipif(sys.platform == "win32", reason="process groups are POSIX")
async def test_stop_kills_an_engine_that_ignores_sigterm_with_its_workers(tmp_path: Path) -> None:
    process, workers = await start_fake("stubborn", tmp_path)
    started = time.monotonic()
    await process.stop(grace_s=1.0)
    assert 1.0 <= time.monotonic() - started < 5
    assert process.returncode is not None and process.returncode < 0  # killed by a signal
    assert not process.group_alive()
    assert not any(alive(pid) for pid in workers)


async def test_a_command_that_cannot_start_raises_oserror(tmp_path: Path) -> None:
    with pytest.raises(OSError):
        await EvolveProcess.start([str(tmp_path / "no-such-program")], cwd=tmp_path)
