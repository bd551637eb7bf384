"""`make bench`'s image figures: each step image's size and cold build time beside a naive single-stage build.

Each step image is built as `make step-images` builds it: `images/Dockerfile`, its package directory as IMAGE_DIR,
its own stage as the target. The naive build (`images/naive/Dockerfile`) installs the same packages on the same
base image in one stage, keeping pip's cache, the installers and everything the wheels ship. Both are built with
`--no-cache`.
Prints figures; asserts nothing (the targets are printed beside them).
"""

import argparse
import os
import shlex
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from tabulate import tabulate

from nivesh_contract.catalog import STEP_IMAGES
from nivesh_contract.declaration import IMAGE_VERSION, StepImage

ROOT = Path(__file__).resolve().parents[2]
STEP_DOCKERFILE = ROOT / "images/Dockerfile"
NAIVE_DOCKERFILE = ROOT / "images/naive/Dockerfile"
MAX_SHARE_OF_NAIVE = 0.6


@dataclass(frozen=True)
class Builder:
    docker: str
    base_image: str
    flags: tuple[str, ...]

    def build(self, dockerfile: Path, tag: str, build_args: dict[str, str], target: str | None = None) -> float:
        """Cold build seconds (of `target`, a stage of `dockerfile`, if given)."""
        build_args = {"BASE_IMAGE": self.base_image} | build_args
        arguments = [f"--build-arg={key}={value}" for key, value in build_args.items()]
        arguments += ["--target", target] if target else []
        command = [self.docker, "build", "--no-cache", *self.flags, *arguments, "--file", str(dockerfile), "--tag", tag]
        started = time.perf_counter()
        built = subprocess.run([*command, str(ROOT)], env=os.environ | {"DOCKER_BUILDKIT": "1"}, capture_output=True)
        if built.returncode != 0:
            raise SystemExit(f"building {tag} failed:\n{built.stderr.decode(errors='replace')[-3000:]}")
        return time.perf_counter() - started

    def size_mb(self, tag: str) -> float:
        inspected = subprocess.run(
            [self.docker, "image", "inspect", "--format", "{{.Size}}", tag], capture_output=True, text=True, check=True
        )
        return int(inspected.stdout) / 1e6

    def remove(self, tag: str) -> None:
        subprocess.run([self.docker, "image", "rm", tag], capture_output=True, check=True)


def image_rows(builder: Builder, images: list[StepImage]) -> list[list]:
    """Size targets are each image's declared one (MB, 10^6 bytes); the intent image in its CPU variant."""
    rows = []
    for image in images:
        tag, naive_tag = image.ref, f"nivesh-naive/{image.name}:{IMAGE_VERSION}"
        seconds = builder.build(STEP_DOCKERFILE, tag, {"IMAGE_DIR": image.directory}, target=image.name)
        naive_seconds = builder.build(NAIVE_DOCKERFILE, naive_tag, {"IMAGE_DIR": image.directory})
        size, naive_size = builder.size_mb(tag), builder.size_mb(naive_tag)
        builder.remove(naive_tag)
        share = size / naive_size
        meets = size <= image.size_target_mb and share <= MAX_SHARE_OF_NAIVE
        rows.append(
            [
                tag,
                f"{size:.0f}",
                image.size_target_mb,
                f"{naive_size:.0f}",
                f"{share:.2f}",
                f"{seconds:.0f}",
                f"{naive_seconds:.0f}",
                "yes" if meets else "NO",
            ]
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--docker", default="docker")
    parser.add_argument("--base-image", default="python:3.11-slim-bookworm")
    parser.add_argument("--build-flags", default="", help="extra docker build flags, one string")
    by_name = {image.name: image for image in STEP_IMAGES}
    parser.add_argument("--image", action="append", choices=list(by_name), help="only these images (repeatable)")
    args = parser.parse_args()
    if subprocess.run([args.docker, "info"], capture_output=True).returncode != 0:
        print(f"\nStep images: skipped, no Docker engine answers `{args.docker} info`")
        return
    builder = Builder(args.docker, args.base_image, tuple(shlex.split(args.build_flags)))
    print(f"\nStep images on {args.base_image}: size (MB) and cold build time (s) against a naive single-stage build")
    print(
        tabulate(
            image_rows(builder, [by_name[name] for name in args.image or by_name]),
            headers=["image", "MB", "target MB", "naive MB", "of naive (≤ 0.6)", "build s", "naive build s", "meets"],
        )
    )


if __name__ == "__main__":
    main()
