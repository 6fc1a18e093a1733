"""`minigrad.cuda`, for torch code that picks its device: minigrad runs on the CPU only, so
no CUDA device is ever available and `"cuda" if minigrad.cuda.is_available() else "cpu"`
chooses the CPU."""


def is_available() -> bool:
    return False


def device_count() -> int:
    return 0
