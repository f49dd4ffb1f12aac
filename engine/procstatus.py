"""Fields of this process's /proc/self/status (Linux), for the few facts only it gives
without side effects: the umask without setting it, and the process's own memory peak."""

from __future__ import annotations


def status_field(name: str) -> str | None:
    """The value of `name:` (e.g. "Umask", "VmHWM") as written, or None where there is no
    /proc (not Linux) or no such field."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                key, _, value = line.partition(":")
                if key == name:
                    return value.strip()
    except OSError:
        pass
    return None


def peak_rss_kib() -> int:
    """This process's peak resident memory in KiB. VmHWM is its own high-water mark;
    ru_maxrss (the fallback) also keeps the forking parent's at the fork, so a test
    worker's gigabyte would show as the child's."""
    value = status_field("VmHWM")
    if value is not None:
        try:
            return int(value.split()[0])
        except (ValueError, IndexError):
            pass
    import resource  # not on Windows, where this is never reached for a test's numbers

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
