"""The loop-cost bench reads the CPU time of a process's main thread only: work on another
thread of the same process must not count, work on the main thread must."""

from __future__ import annotations

import os
import threading
import time

from bench.loop_cost import main_thread_cpu_seconds


def spin(seconds: float) -> None:
    until = time.thread_time() + seconds
    while time.thread_time() < until:
        pass


def test_work_on_the_main_thread_counts() -> None:
    before = main_thread_cpu_seconds(os.getpid())
    spin(0.3)
    assert main_thread_cpu_seconds(os.getpid()) - before >= 0.2


def test_work_on_another_thread_does_not_count() -> None:
    before = main_thread_cpu_seconds(os.getpid())
    worker = threading.Thread(target=spin, args=(0.5,))
    worker.start()
    worker.join()
    assert main_thread_cpu_seconds(os.getpid()) - before < 0.2
