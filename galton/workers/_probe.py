"""Probing a Ray cluster's address before ``ray.init``, which retries an unreachable or wrong
address for minutes with pages of C++ warnings: a TCP connection, an HTTP/2 preface and one GCS call
answer in seconds with one line that says what is wrong (:func:`probe`)."""

from __future__ import annotations

import socket

__all__ = ["PROBE_TIMEOUT_S", "LOOPBACK", "from_environment", "host_port", "probe", "check_token", "not_a_gcs",
           "speaks_grpc"]

LOOPBACK = "127.0.0.1"

#: Seconds to wait for a cluster's address to accept a TCP connection before giving up.
PROBE_TIMEOUT_S = 10.0


def host_port(target: str) -> tuple[str, int] | None:
    """(host, port) of a ``host:port`` or ``ray://host:port`` address; None for other forms."""
    text = target.removeprefix("ray://")
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit():
        return None
    return host.strip("[]") or LOOPBACK, int(port)


#: The HTTP/2 client connection preface and an empty SETTINGS frame (RFC 9113, section 3.4).
_H2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"


def speaks_grpc(sock: socket.socket, timeout: float) -> str:
    """'' when the peer answers the HTTP/2 preface with a SETTINGS frame (a gRPC server: Ray's
    GCS and its client server both are); otherwise why not. ``ray.init`` against a port that is
    open but not Ray's waits for minutes."""
    sock.settimeout(timeout)
    sock.sendall(_H2_PREFACE)
    head = b""
    while len(head) < 9:
        chunk = sock.recv(9 - len(head))
        if not chunk:
            return "the connection was closed without an HTTP/2 answer: not a Ray port"
        head += chunk
    if head[3] != 0x04:  # frame type SETTINGS
        return "the port answers, but not as a gRPC server: not a Ray port"
    return ""


def probe(target: str, timeout: float = PROBE_TIMEOUT_S) -> None:
    """Fail fast with one clear line when a cluster address accepts no connection.

    ``ray.init`` retries an unreachable GCS address for minutes; a TCP connection and an HTTP/2
    preface with a timeout answer in at most about ``2 * timeout`` seconds. Addresses that are not ``host:port``
    (``"auto"``) are left to Ray.

    Raises
    ------
    ConnectionError
        Naming the address, the reason and what to check.
    """
    hp = host_port(target)
    if hp is None:
        return
    host, port = hp
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            reason = speaks_grpc(sock, timeout)
    except OSError as exc:
        reason = "timed out" if isinstance(exc, TimeoutError) else (exc.strerror or str(exc))
    if reason:
        raise ConnectionError(
            f"cannot reach the Ray cluster at {target!r} ({reason}); check that its head node runs "
            "(`ray status` there), the host and port (GCS port 6379 by default, 10001 for ray://), "
            "and the firewall, or leave the address out to start a local instance"
        ) from None
    if not target.startswith("ray://"):
        check_token(target, timeout)


def check_token(target: str, timeout: float) -> None:
    """One request to the cluster's GCS: a cluster with token authentication refuses this process
    at once when it has no token (``ray.init`` printed Ray's C++ warnings for 20 s or more, then
    "Failed to connect" without a word about the token)."""
    try:
        from ray._raylet import GcsClient
    except ImportError:  # another Ray: left to ray.init
        return
    try:
        GcsClient(address=target).internal_kv_get(b"galton-probe", None, timeout=timeout)
    except Exception as exc:  # noqa: BLE001 - only an authentication refusal and a non-GCS are ours to word
        if not_a_gcs(exc):  # a raylet's or another gRPC server: ray.init retried it for half a minute
            raise ConnectionError(
                f"the address {target!r} answers, but not as a Ray cluster's GCS (its gRPC server does not "
                "know the GCS's calls: a raylet's or another service's port); give the head node's GCS port "
                "(6379 by default), or ray://host:10001 for Ray Client"
            ) from None
        if type(exc).__name__ == "AuthenticationError":
            raise ConnectionError(
                f"the Ray cluster at {target!r} refused this process's token; the cluster uses token "
                "authentication: set RAY_AUTH_MODE=token here and give this machine the cluster's token "
                "(~/.ray/auth_token, or RAY_AUTH_TOKEN), as the README's cluster recipe does"
            ) from None


def not_a_gcs(exc: BaseException) -> bool:
    """An RPC error with gRPC's UNIMPLEMENTED status (12): the server has no such service."""
    code = getattr(exc, "rpc_code", None)
    return type(exc).__name__ == "RpcError" and (code == 12 or (code is None and "rpc_code: 12" in str(exc)))


def from_environment(exc: Exception, target: str) -> Exception:
    """``exc`` (a failure to join the cluster at ``target``) saying that ``target`` came from the
    ``RAY_ADDRESS`` environment variable and that unsetting it starts a local instance: the caller
    gave no address, and the messages named only ``--ray-address`` / ``address=``, or "leave the
    address out", which the user had done."""
    text = str(exc)
    said = f"{target!r} (from the RAY_ADDRESS environment variable)"
    text = text.replace(repr(target), said, 1) if repr(target) in text else f"RAY_ADDRESS={target!r}: {text}"
    if "leave the address out" in text:
        text = text.replace("leave the address out", "unset RAY_ADDRESS")
    else:
        text += "; or unset RAY_ADDRESS to start a local instance"
    return type(exc)(text)
