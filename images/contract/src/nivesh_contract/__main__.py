"""`python -m nivesh_contract QUERY`: lists the Makefile derives from the declarations (no dependencies needed).

- `directories`: every step image's directory under images/ (what `make install` installs besides the
  contract, the step library and the platform)
- `step-images`: `directory:name` of every step image (what `make step-images` builds)
- `image-version`: the version every image is tagged with
"""

import sys

from nivesh_contract.catalog import STEP_IMAGES
from nivesh_contract.declaration import IMAGE_VERSION

QUERIES = {
    "directories": lambda: " ".join(image.directory for image in STEP_IMAGES),
    "step-images": lambda: " ".join(f"{image.directory}:{image.name}" for image in STEP_IMAGES),
    "image-version": lambda: IMAGE_VERSION,
}


def main() -> None:
    query = sys.argv[1] if len(sys.argv) == 2 else ""
    if query not in QUERIES:
        sys.exit(f"usage: python -m nivesh_contract {{{'|'.join(QUERIES)}}}")
    print(QUERIES[query]())


if __name__ == "__main__":
    main()
