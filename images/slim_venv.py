"""Shrink a step image's virtual environment in its Dockerfile's builder stage.

Run by the venv's own Python, without bytecode, after `pip install --no-compile`:
`python -B slim_venv.py nivesh_credit_risk`. It removes what no step uses at run time (installers,
test suites, compiler inputs, Arrow Flight), strips the shared libraries' symbols and links identical
copies, then imports every module of `nivesh_contract`, `nivesh_common` and the named step packages: a library that
stripping broke fails the build.

The image ships no bytecode: the root filesystem is read-only, so a step compiles what it imports in
memory (about 2 s more per step, measured) instead of carrying 55+ MB of `.pyc` in every image.
"""

import hashlib
import importlib
import os
import pkgutil
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

# Libraries' own test suites; evidently imports `evidently.legacy.tests` at run time.
KEEP_TESTS_OF = ("evidently",)

# Type stubs, headers, C/C++/Cython sources, object files and static archives: read only when compiling or
# linking against a package (prophet ships CmdStan's TBB objects).
COMPILER_INPUTS = ("*.pyi", "*.pxd", "*.pyx", "*.h", "*.hpp", "*.c", "*.cpp", "*.o", "*.a")

# Arrow Flight (RPC), Arrow's C++ headers and sources, its C++ tests: the steps only read and write files.
PYARROW_UNUSED = (
    "include",
    "src",
    "*flight*",
    "_pyarrow_cpp_tests*",
)


def remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink()


def drop_installers() -> None:
    subprocess.run([sys.executable, "-m", "pip", "uninstall", "--yes", "--quiet", "pip", "setuptools"], check=True)


def drop_test_suites(site_packages: Path) -> None:
    for tests in sorted(site_packages.rglob("tests"), reverse=True):  # nested ones first
        if tests.is_dir() and tests.relative_to(site_packages).parts[0] not in KEEP_TESTS_OF:
            shutil.rmtree(tests)


def drop_compiler_inputs(site_packages: Path) -> None:
    for pattern in COMPILER_INPUTS:
        for path in site_packages.rglob(pattern):
            if path.is_file():
                path.unlink()


def drop_pyarrow_extras(site_packages: Path) -> None:
    pyarrow = site_packages / "pyarrow"
    for pattern in PYARROW_UNUSED:
        for path in pyarrow.glob(pattern):
            remove(path)


def is_elf(path: Path) -> bool:
    with path.open("rb") as file:
        return file.read(4) == b"\x7fELF"


def binaries(site_packages: Path) -> list[Path]:
    """Shared libraries and executables."""
    return [path for path in site_packages.rglob("*") if path.is_file() and not path.is_symlink() and is_elf(path)]


def strip_shared_libraries(binaries: list[Path]) -> None:
    # Not the libraries auditwheel vendored into `<dist>.libs`: patchelf rewrote them, and strip breaks them.
    libraries = [path for path in binaries if ".so" in path.suffixes and not path.parent.name.endswith(".libs")]
    subprocess.run(["strip", "--strip-unneeded", *map(str, libraries)], check=True)


def link_duplicate_binaries(binaries: list[Path]) -> None:
    """auditwheel vendors one library into several `<dist>.libs`, pyarrow ships one under three names and
    prophet its model twice."""
    by_size: dict[int, list[Path]] = {}
    for binary in binaries:
        by_size.setdefault(binary.stat().st_size, []).append(binary)
    first_of_content: dict[bytes, Path] = {}
    for same_size in (paths for paths in by_size.values() if len(paths) > 1):
        for binary in sorted(same_size):
            first = first_of_content.setdefault(hashlib.sha256(binary.read_bytes()).digest(), binary)
            if first != binary:
                binary.unlink()
                binary.symlink_to(os.path.relpath(first, binary.parent))


def import_every_module(package_names: list[str]) -> int:
    count = 0
    for name in ["nivesh_contract", "nivesh_common", *package_names]:
        package = importlib.import_module(name)
        for module in pkgutil.walk_packages(package.__path__, f"{name}."):
            importlib.import_module(module.name)
            count += 1
    return count


def main(package_names: list[str]) -> None:
    site_packages = Path(sysconfig.get_paths()["purelib"])
    drop_installers()
    drop_test_suites(site_packages)
    drop_compiler_inputs(site_packages)
    drop_pyarrow_extras(site_packages)
    found = binaries(site_packages)
    strip_shared_libraries(found)
    link_duplicate_binaries(found)
    print(f"slim_venv: {import_every_module(package_names)} modules of the step import after slimming")


if __name__ == "__main__":
    main(sys.argv[1:])
