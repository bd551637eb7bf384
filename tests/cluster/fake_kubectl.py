"""A stand-in for `kubectl` against a cluster that cannot exist here: the context `kind-nivesh`, whose Services
(FAKE_CLUSTER_SERVICES: JSON name -> local port) are local and whose Secrets are kept in a JSON file
(FAKE_CLUSTER_SECRETS: its path; name -> {key: value}), read by `get` and written by `create -f -`. It answers
as kubectl does: `port-forward` prints `Forwarding from` and relays TCP; a missing context, Service or Secret is
kubectl's own error line and exit 1, a Secret created twice too."""

import base64
import contextlib
import json
import os
import socket
import sys
import threading
from pathlib import Path

CONTEXT = "kind-nivesh"


def fail(message: str) -> None:
    print(message, file=sys.stderr)
    sys.exit(1)


def relay(source: socket.socket, target: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            target.sendall(data)
    except OSError:
        pass
    finally:
        # the end of one direction reaches the other side now (close() would wait for the other relay's recv)
        with contextlib.suppress(OSError):
            target.shutdown(socket.SHUT_WR)


def port_forward(service: str, ports: str) -> None:
    services = json.loads(os.environ.get("FAKE_CLUSTER_SERVICES", "{}"))
    if service not in services:
        fail(f'Error from server (NotFound): services "{service}" not found')
    local = int(ports.split(":")[0])
    listener = socket.create_server(("127.0.0.1", local))
    print(f"Forwarding from 127.0.0.1:{local} -> {ports.split(':')[1]}", flush=True)
    while True:
        client, _ = listener.accept()
        upstream = socket.create_connection(("127.0.0.1", services[service]))
        threading.Thread(target=relay, args=(client, upstream), daemon=True).start()
        threading.Thread(target=relay, args=(upstream, client), daemon=True).start()


def stored_secrets() -> dict[str, dict[str, str]]:
    path = os.environ.get("FAKE_CLUSTER_SECRETS")
    return json.loads(Path(path).read_text()) if path and Path(path).exists() else {}


def create(manifest: dict) -> None:
    secrets, name = stored_secrets(), manifest["metadata"]["name"]
    if manifest["kind"] != "Secret":
        fail(f"fake kubectl: creating a {manifest['kind']} is not stood in for")
    if name in secrets:
        fail(f'Error from server (AlreadyExists): error when creating "STDIN": secrets "{name}" already exists')
    secrets[name] = manifest["stringData"]
    Path(os.environ["FAKE_CLUSTER_SECRETS"]).write_text(json.dumps(secrets))
    print(f"secret/{name} created")


def get(args: list[str]) -> None:
    secrets = stored_secrets()
    jsonpath = next(arg for arg in args if arg.startswith("jsonpath="))
    if args[1] == "secrets":
        print(" ".join(secrets))
        return
    name = args[2]
    if name not in secrets:
        fail(f'Error from server (NotFound): secrets "{name}" not found')
    key = jsonpath.removeprefix("jsonpath={.data.").removesuffix("}")
    print(base64.b64encode(secrets[name][key].encode()).decode())


def main(args: list[str]) -> None:
    context = args[args.index("--context") + 1]
    if context != CONTEXT:
        fail(f'error: context "{context}" does not exist')
    if "port-forward" in args:
        service, ports = args[-2:]
        port_forward(service.removeprefix("service/"), ports)
    elif "get" in args:
        get(args[args.index("get") :])
    elif args[2:] == ["create", "-f", "-"]:
        create(json.load(sys.stdin))
    else:
        fail(f"fake kubectl: {' '.join(args)} is not stood in for")


main(sys.argv[1:])
