"""pip's output folded to a few progress lines: `pip install ... | python install_progress.py`.

`make install` runs it by path with the system Python, before the virtual environment exists: standard library
only. pip's own lines are hundreds ("Collecting", "Downloading", "Requirement already satisfied"); --quiet shows
nothing for minutes. This shows how far it got every EVERY_S seconds, each phase once, and passes through what a
person must read (errors, warnings).
"""

import sys
import time

EVERY_S = 15.0
PASSED_THROUGH = ("ERROR", "WARNING", "error:", "note:", "hint:")


def _elapsed(seconds: float) -> str:
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes} min {rest:02d} s" if minutes else f"{rest} s"


def follow(lines, write=print, clock=time.monotonic) -> int:
    """Returns how many packages pip collected."""
    started = last_said = clock()
    collected, current = 0, ""
    for line in lines:
        text = line.rstrip("\n")
        if text.startswith("Collecting "):
            collected, current = collected + 1, text.split()[1]
        elif text.startswith("Installing collected packages"):
            installing = len(text.partition(":")[2].split(","))
            write(f"  {_elapsed(clock() - started)}: installing {installing} packages (about a minute for all of them)")
            last_said = clock()
            continue
        elif text.startswith("Successfully installed"):
            write(f"  {_elapsed(clock() - started)}: installed {len(text.split()) - 2} packages")
            continue
        elif text.lstrip().startswith(PASSED_THROUGH):
            write(text)
            continue
        if collected and clock() - last_said >= EVERY_S:
            write(f"  {_elapsed(clock() - started)}: {collected} packages collected, now {current}")
            last_said = clock()
    return collected


if __name__ == "__main__":
    follow(sys.stdin, write=lambda text: print(text, flush=True))
