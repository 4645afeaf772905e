"""Facts about the host machine that enter device fingerprints."""

from __future__ import annotations

import functools
import platform
import subprocess


@functools.lru_cache(maxsize=1)
def processor_model() -> str:
    """The CPU model name from /proc/cpuinfo, else ``platform.processor()``, else ``unknown``."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                key, _, value = line.partition(":")
                if key.strip() == "model name" and value.strip():
                    return " ".join(value.split())
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def os_arch() -> str:
    """E.g. ``Linux-x86_64``."""
    return f"{platform.system()}-{platform.machine()}"


@functools.lru_cache(maxsize=16)
def gpu_name(gpu_id: int) -> str:
    """The NVIDIA GPU name reported by ``nvidia-smi`` for one index, or ``unknown``."""
    cmd = ["nvidia-smi", f"--id={gpu_id}", "--query-gpu=name", "--format=csv,noheader"]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=10, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    name = out.strip().splitlines()[0].strip() if out.strip() else ""
    return name or "unknown"
