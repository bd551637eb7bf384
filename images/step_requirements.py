"""What a step image's dependency layer installs: the third-party requirements of its three packages.

Run by `images/Dockerfile`'s `requirements` stage, with the base image's Python and the standard library only:
`python3 -B step_requirements.py --image-dir credit_risk --out /requirements` reads the `pyproject.toml` of
`images/contract`, `images/common` and `images/<image-dir>` and writes `<out>/requirements.txt`: every
dependency and build requirement but the `nivesh-*` packages themselves (installed afterwards from their
sources, `--no-deps`), sorted, one a line. The file changes only when a requirement does, so the layer that
installs it stays cached when a source, a declaration or a threshold changes.

A package that needs torch gets the CPU build under `--torch-variant cpu` (the default): the torch wheels of
`images/<image-dir>/wheels/` when there are any (copied to `<out>/wheels/`, found through `--find-links`),
else the PyTorch CPU index as an extra index. `--torch-variant cuda` (the GPU nodes): PyPI's torch, which
bundles CUDA. A package that does not need torch gets the same file under either variant.
"""

import argparse
import re
import shutil
import tomllib
from pathlib import Path

SHARED = ("contract", "common")  # installed in every step image, before the image's own package
OWN_PACKAGES = re.compile(r"nivesh[-_.]", re.IGNORECASE)
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
TORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"


class RequirementsError(Exception):
    """The image directory or one of its packages is not shaped as a step image's."""


def project_name(requirement: str) -> str:
    """PEP 503 normalised: `Torch==2.13.0` -> `torch`."""
    matched = NAME.match(requirement.strip())
    if matched is None:
        raise RequirementsError(f"not a requirement: {requirement!r}")
    return re.sub(r"[-_.]+", "-", matched.group()).lower()


def third_party(images: Path, image_dir: str) -> list[str]:
    """The dependencies and build requirements of the image's three packages, less the nivesh-* ones."""
    requirements: set[str] = set()
    for directory in (*SHARED, image_dir):
        pyproject = images / directory / "pyproject.toml"
        if not pyproject.is_file():
            raise RequirementsError(f"{pyproject}: not found (IMAGE_DIR names a directory of images/)")
        package = tomllib.loads(pyproject.read_text())
        declared = package["project"].get("dependencies", []) + package.get("build-system", {}).get("requires", [])
        requirements |= {requirement.strip() for requirement in declared if not OWN_PACKAGES.match(requirement)}
    return sorted(requirements, key=lambda requirement: (project_name(requirement), requirement))


def torch_options(wheelhouse: Path, out: Path, variant: str, cpu_index: str) -> list[str]:
    """pip options for a package that needs torch (requirements-file lines)."""
    if variant == "cuda":
        return []
    wheels = sorted(wheelhouse.glob("torch-*.whl"))
    if not wheels:
        return [f"--extra-index-url {cpu_index}"]
    (out / "wheels").mkdir(parents=True, exist_ok=True)
    for wheel in wheels:
        shutil.copyfile(wheel, out / "wheels" / wheel.name)
    return [f"--find-links {out / 'wheels'}"]


def write(images: Path, image_dir: str, out: Path, variant: str, cpu_index: str = TORCH_CPU_INDEX) -> Path:
    """`<out>/requirements.txt` for the image of `images/<image_dir>`; returns its path."""
    if not image_dir or "/" in image_dir or image_dir.startswith("."):
        raise RequirementsError(f"IMAGE_DIR={image_dir!r}: name one directory of images/ (credit_risk, intent...)")
    requirements = third_party(images, image_dir)
    out.mkdir(parents=True, exist_ok=True)
    needs_torch = "torch" in {project_name(requirement) for requirement in requirements}
    options = torch_options(images / image_dir / "wheels", out, variant, cpu_index) if needs_torch else []
    target = out / "requirements.txt"
    target.write_text("".join(f"{line}\n" for line in [*options, *requirements]))
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=Path, default=Path(__file__).resolve().parent, help="the images/ directory")
    parser.add_argument("--image-dir", required=True, help="the step image's directory under images/")
    parser.add_argument("--out", type=Path, required=True, help="where requirements.txt (and wheels/) go")
    parser.add_argument("--torch-variant", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--torch-cpu-index", default=TORCH_CPU_INDEX)
    args = parser.parse_args()
    try:
        write(args.images, args.image_dir, args.out, args.torch_variant, args.torch_cpu_index)
    except RequirementsError as error:
        parser.exit(2, f"{parser.prog}: error: {error}\n")
    print((args.out / "requirements.txt").read_text(), end="")  # in the build log


if __name__ == "__main__":
    main()
