"""images/slim_venv.py on a made-up site-packages: what it removes, keeps and links (the builds run the rest)."""

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
_spec = importlib.util.spec_from_file_location("slim_venv", ROOT / "images/slim_venv.py")
slim_venv = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(slim_venv)

ELF = b"\x7fELF" + bytes(60)


def files(root: Path, contents: dict[str, bytes]) -> None:
    for name, content in contents.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(content)


def test_test_suites_go_except_evidently_s_and_compiler_inputs_and_arrow_flight_go(tmp_path):
    files(
        tmp_path,
        {
            "pandas/tests/test_frame.py": b"",
            "sklearn/utils/tests/test_x.py": b"",
            "evidently/legacy/tests/__init__.py": b"",
            "numpy/_core/include/numpy/ndarraytypes.h": b"",
            "pandas/_libs/hashtable.pyi": b"",
            "pandas/_libs/hashtable.pyx": b"",
            "prophet/stan_model/cmdstan/stan/lib/tbb/arena.o": ELF,
            "pandas/core/frame.py": b"",
            "pyarrow/libarrow_flight.so.2500": ELF,
            "pyarrow/flight.py": b"",
            "pyarrow/include/arrow/api.h": b"",
            "pyarrow/libarrow.so.2500": ELF,
            "pyarrow/parquet/core.py": b"",
        },
    )
    slim_venv.drop_test_suites(tmp_path)
    slim_venv.drop_compiler_inputs(tmp_path)
    slim_venv.drop_pyarrow_extras(tmp_path)
    left = {str(path.relative_to(tmp_path)) for path in tmp_path.rglob("*") if path.is_file()}
    assert left == {
        "evidently/legacy/tests/__init__.py",
        "pandas/core/frame.py",
        "pyarrow/libarrow.so.2500",
        "pyarrow/parquet/core.py",
    }


def test_identical_binaries_become_links_to_one_copy(tmp_path):
    files(
        tmp_path,
        {
            "numpy.libs/libgfortran-0400.so.5": ELF + b"gfortran",
            "scipy.libs/libgfortran-0400.so.5": ELF + b"gfortran",
            "scipy.libs/libquadmath.so.0": ELF + b"quadmath",
            "pyarrow/libarrow_python.so": ELF + b"python",
            "pyarrow/libarrow_python.so.2500": ELF + b"python",
            "pyarrow/libarrow.so.2500": ELF + b"arrow!",
            "pyarrow/README.so.txt": b"not a library",
            "prophet/stan_model/prophet_model.bin": ELF + b"model",
            "prophet/stan_model/prophet": ELF + b"model",
        },
    )
    binaries = slim_venv.binaries(tmp_path)
    assert tmp_path / "pyarrow/README.so.txt" not in binaries
    slim_venv.link_duplicate_binaries(binaries)
    links = {str(path.relative_to(tmp_path)): str(path.readlink()) for path in tmp_path.rglob("*") if path.is_symlink()}
    assert links == {
        "scipy.libs/libgfortran-0400.so.5": "../numpy.libs/libgfortran-0400.so.5",
        "pyarrow/libarrow_python.so.2500": "libarrow_python.so",
        "prophet/stan_model/prophet_model.bin": "prophet",
    }
    assert (tmp_path / "scipy.libs/libgfortran-0400.so.5").read_bytes() == ELF + b"gfortran"
