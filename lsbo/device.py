"""Device selection shared by every command (``--device auto|cpu|cuda``), and the CPU threads (``--threads``)."""

from __future__ import annotations

import torch

from lsbo.errors import ConfigError

DEVICE_CHOICES = ("auto", "cpu", "cuda")


def resolve_device(name: str | torch.device = "auto") -> torch.device:
    """Turn ``auto``/``cpu``/``cuda``/``cuda:N`` into a :class:`torch.device`.

    ``auto`` picks CUDA when a GPU is visible, else the CPU. Asking for CUDA on a machine without
    one is an error rather than a silent fallback, so a run never ends up somewhere unexpected.
    """
    if isinstance(name, torch.device):
        return name
    name = name.strip().lower()
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cpu":
        return torch.device("cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ConfigError(f"device {name}: no CUDA device is available here (use cpu or auto)", parameter="device")
        try:
            device = torch.device(name)
        except RuntimeError:
            raise ConfigError(f"device {name!r}: expected cuda or cuda:N", parameter="device") from None
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise ConfigError(
                f"device {name}: there are {torch.cuda.device_count()} CUDA devices here (cuda:0..)", parameter="device"
            )
        return device
    raise ConfigError(f"device {name!r}: expected one of {', '.join(DEVICE_CHOICES)} (or cuda:N)", parameter="device")


def set_threads(threads: int | None) -> None:
    """Use ``threads`` CPU threads for torch (``None``: torch's default), checked against the options
    schema (``threads``: 1 to 1024; 0 is refused, not silently raised to 1)."""
    from lsbo.options import check_value

    if threads is not None:
        torch.set_num_threads(check_value("threads", threads))


def available_memory_bytes(device: str | torch.device = "cpu") -> int:
    """Memory a new allocation can use now: free GPU memory on CUDA, else the host's available memory.

    Used to refuse sizes that cannot fit (a one-line error) instead of failing inside the allocator.
    """
    device = torch.device(device)
    if device.type == "cuda":
        free, _total = torch.cuda.mem_get_info(device)
        return int(free)
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    import os

    return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
