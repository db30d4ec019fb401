"""The one place galton starts or joins Ray.

:func:`connect` is the only caller of ``ray.init`` in galton. It picks the cluster in this order:

1. an explicit ``address`` argument: ``"auto"`` (a cluster started with ``ray start`` on this
   machine), ``"ray://host:port"`` (Ray Client), ``"host:port"`` (a GCS address) or ``"local"``
   (always a new local instance);
2. the ``RAY_ADDRESS`` environment variable;
3. a new local instance on 127.0.0.1 with the dashboard off and ``num_cpus`` defaulting to the CPU
   cores this process may use.

A new local instance keeps Ray's token authentication on (the default for new local clusters since
Ray 2.5x: a random token in ``~/.ray/auth_token``). Asking Ray for the node address 127.0.0.1 is not
enough on Linux: Ray replaces it by the machine's routable address and its gRPC servers (GCS,
raylet, every worker) then listen on all interfaces. :func:`connect` therefore starts the instance
the way Ray starts single-machine instances on macOS and Windows, with the loopback address as the
node address, so that every server listens on 127.0.0.1 only; ``tests/workers/test_cluster.py``
checks what listens. To keep a multi-machine cluster private, leave ``RAY_AUTH_MODE`` unset or set
to ``token``, copy the token to every node and the drivers, and firewall the Ray ports.

Workers import galton by name: install galton on every node of a remote cluster, or pass
``runtime_env={"py_modules": [galton]}`` through ``connect(..., runtime_env=...)``.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import socket
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import ray

from .._signals import deferred, handling
from . import _shard_actor

__all__ = ["ClusterInfo", "connect", "is_connected", "probe", "resolve_address", "set_verbose", "shutdown"]

log = logging.getLogger(__name__)

LOCAL = "local"
_LOOPBACK = "127.0.0.1"
_started_here = False
#: the address this process joined a cluster by, as written (Ray reports the head by its own address:
#: 127.0.0.1:6379 or a host name is the same cluster as the 10.0.0.5:6379 Ray names)
_joined_as: str | None = None

#: Seconds to wait for a cluster's address to accept a TCP connection before giving up.
PROBE_TIMEOUT_S = 10.0

#: Ray's own start-up and log lines reach the terminal only when this is True (``galton -v``, or
#: :func:`set_verbose`); otherwise Ray logs at ERROR level and worker output stays in Ray's logs.
_verbose = os.environ.get("GALTON_VERBOSE", "").strip().lower() in ("1", "true", "yes")


def set_verbose(on: bool) -> None:
    """Let Ray's own start-up lines and worker output reach the terminal (off by default)."""
    global _verbose
    _verbose = bool(on)


@dataclass(frozen=True)
class ClusterInfo:
    """What :func:`connect` connected to.

    Attributes
    ----------
    address : the GCS address (``host:port``) of the cluster, or the Ray Client address
    started : True when this process started the instance (a new local one)
    num_cpus : CPUs of the whole cluster
    dashboard_url : empty when no dashboard runs
    token_auth : True when Ray's token authentication is on in this process
    """

    address: str
    started: bool
    num_cpus: float
    dashboard_url: str
    token_auth: bool


def resolve_address(address: str | None = None, environ: Mapping[str, str] | None = None) -> str:
    """The address :func:`connect` uses: explicit > ``RAY_ADDRESS`` > ``"local"`` (a new instance)."""
    if address is not None:
        address = str(address).strip()
        if not address:
            raise ValueError("address is empty; pass None, 'auto', 'local', 'host:port' or 'ray://host:port'")
        return address
    env = os.environ if environ is None else environ
    from_env = (env.get("RAY_ADDRESS") or "").strip()
    return from_env or LOCAL


def _host_port(target: str) -> tuple[str, int] | None:
    """(host, port) of a ``host:port`` or ``ray://host:port`` address; None for other forms."""
    text = target.removeprefix("ray://")
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit():
        return None
    return host.strip("[]") or _LOOPBACK, int(port)


#: The HTTP/2 client connection preface and an empty SETTINGS frame (RFC 9113, section 3.4).
_H2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"


def _speaks_grpc(sock: socket.socket, timeout: float) -> str:
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
    hp = _host_port(target)
    if hp is None:
        return
    host, port = hp
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            reason = _speaks_grpc(sock, timeout)
    except OSError as exc:
        reason = "timed out" if isinstance(exc, TimeoutError) else (exc.strerror or str(exc))
    if reason:
        raise ConnectionError(
            f"cannot reach the Ray cluster at {target!r} ({reason}); check that its head node runs "
            "(`ray status` there), the host and port (GCS port 6379 by default, 10001 for ray://), "
            "and the firewall, or leave the address out to start a local instance"
        ) from None
    if not target.startswith("ray://"):
        _check_token(target, timeout)


def _check_token(target: str, timeout: float) -> None:
    """One request to the cluster's GCS: a cluster with token authentication refuses this process
    at once when it has no token (``ray.init`` printed Ray's C++ warnings for 20 s or more, then
    "Failed to connect" without a word about the token)."""
    try:
        from ray._raylet import GcsClient
    except ImportError:  # another Ray: left to ray.init
        return
    try:
        GcsClient(address=target).internal_kv_get(b"galton-probe", None, timeout=timeout)
    except Exception as exc:  # noqa: BLE001 - only an authentication refusal is ours to word
        if type(exc).__name__ == "AuthenticationError":
            raise ConnectionError(
                f"the Ray cluster at {target!r} refused this process's token; the cluster uses token "
                "authentication: set RAY_AUTH_MODE=token here and give this machine the cluster's token "
                "(~/.ray/auth_token, or RAY_AUTH_TOKEN), as the README's cluster recipe does"
            ) from None


@contextlib.contextmanager
def _ray_logs_quiet():
    """Ray's loggers at ERROR while it starts (its start-up INFO and token WARNING lines)."""
    if _verbose:
        yield
        return
    logger = logging.getLogger("ray")
    saved = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(saved)


def _log_options(kw: dict[str, Any]) -> dict[str, Any]:
    if _verbose:
        return kw
    out = {"logging_level": logging.ERROR, "log_to_driver": False}
    out.update(kw)
    return out


def is_connected() -> bool:
    """True when this process is connected to a Ray cluster."""
    return bool(ray.is_initialized())


def _cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def _token_auth_on() -> bool:
    try:
        from ray._raylet import AuthenticationMode, get_authentication_mode

        return bool(get_authentication_mode() == AuthenticationMode.TOKEN)
    except ImportError:  # pragma: no cover - other Ray versions
        return os.environ.get("RAY_AUTH_MODE", "").lower() == "token"


def _info(started: bool) -> ClusterInfo:
    ctx = ray.get_runtime_context()
    try:
        address = ctx.gcs_address
    except (AttributeError, RuntimeError, ray.exceptions.RayError):  # pragma: no cover - Ray Client
        address = os.environ.get("RAY_ADDRESS", "")
    dashboard = ""
    node = getattr(ray._private.worker, "_global_node", None)
    if node is not None:
        dashboard = node.address_info.get("webui_url") or ""
    return ClusterInfo(
        address=str(address), started=started, num_cpus=float(ray.cluster_resources().get("CPU", 0.0)),
        dashboard_url=str(dashboard), token_auth=_token_auth_on(),
    )


def connect(address: str | None = None, *, num_cpus: int | None = None, **kw: Any) -> ClusterInfo:
    """Start or join Ray (idempotent) and describe the cluster.

    Parameters
    ----------
    address : None, "local", "auto", "host:port" or "ray://host:port"
        See the module docstring for the order of precedence.
    num_cpus : CPUs of a new local instance (default: the cores this process may use); not
        allowed when joining an existing cluster.
    **kw : passed to ``ray.init`` (for example ``object_store_memory``, ``runtime_env``,
        ``include_dashboard=True`` to turn the dashboard back on).

    Returns
    -------
    ClusterInfo

    Raises
    ------
    ConnectionError
        when ``address`` (or ``RAY_ADDRESS``) is a ``host:port`` that accepts no connection within
        :data:`PROBE_TIMEOUT_S` seconds.
    RuntimeError
        when this process is already connected and ``address`` explicitly names another cluster;
        call :func:`shutdown` first.
    """
    global _started_here, _joined_as
    target = resolve_address(address)
    if ray.is_initialized():
        if address is not None and target not in (LOCAL, "auto") and target != _joined_as:
            current = _info(_started_here).address
            if target.removeprefix("ray://") != current:
                raise RuntimeError(
                    f"already connected to the Ray cluster at {current}; call "
                    f"galton.workers.shutdown() before connecting to {target}"
                )
        return _info(_started_here)
    if target != LOCAL:
        if num_cpus is not None:
            raise ValueError(f"num_cpus applies only to a new local instance, not to {target}")
        log.info("joining the Ray cluster at %s", target)
        probe(target)
        # interrupts: once ray.init returned
        with deferred("Ray has joined the cluster"), _command_keeps_sigterm(), _ray_logs_quiet():
            try:
                ray.init(address=target, **_log_options(kw))
            except ConnectionError as exc:  # Ray's words named its own flag (--address), not galton's
                if target != "auto" or "Could not find any running Ray instance" not in str(exc):
                    raise
                raise ConnectionError(
                    "address 'auto' found no Ray cluster running on this machine; start one (`ray start "
                    "--head`), give a cluster's address (host:port: --ray-address on the command line, "
                    "address= or RAY_ADDRESS in Python), or leave the address out to start a local instance"
                ) from None
            _started_here, _joined_as = False, target
        return _info(False)
    if os.environ.get("RAY_AUTH_MODE", "").lower() == "disabled":
        warnings.warn(
            "RAY_AUTH_MODE=disabled: the new local Ray instance runs without token authentication; "
            "unset RAY_AUTH_MODE to keep it", UserWarning, stacklevel=2,
        )
    _check_file_size_limit(kw.get("object_store_memory"))
    opts: dict[str, Any] = {"include_dashboard": False, "_node_ip_address": _LOOPBACK}
    opts.update(_log_options(kw))
    opts["num_cpus"] = int(num_cpus) if num_cpus is not None else _cpu_count()
    # Ctrl-C / SIGTERM inside ray.init (the galton command's Interrupted, or Ray's own SystemExit) left
    # Ray half started: the command then died by SIGSEGV at exit or hung; deferred() raises the
    # interrupt once ray.init has returned, so the command unwinds with Ray whole and exits 130 / 143
    with deferred("Ray has started"), _command_keeps_sigterm(), _loopback_node_address(opts["_node_ip_address"]), \
            _ray_logs_quiet():
        ray.init(address=LOCAL, **opts)
        _started_here = True
    return _info(True)


#: what Ray's object store file may take beyond its size under a file size limit (measured, Ray 2.60:
#: a 1 GiB limit starts a 1.07 GB store, not a 1.074 GB one)
_STORE_MARGIN = 16 * 2**20


def _check_file_size_limit(object_store_memory: int | None = None) -> None:
    """Refuse, at once, a file size limit (``ulimit -f``) under which a new local Ray instance cannot
    start: its raylet maps the object store as one file of the store's size (``object_store_memory``,
    by default about 30% of the free memory), and under a smaller limit ``ray.init`` failed after half
    a minute with "The current node timed out during startup". A limit above the store is no
    hindrance (a local fit handles any limit: its writes fail with "File too large", named)."""
    try:
        import resource
    except ImportError:  # pragma: no cover - Windows: no such limit
        return
    limit = resource.getrlimit(resource.RLIMIT_FSIZE)[0]
    if limit == resource.RLIM_INFINITY:
        return
    store = object_store_memory
    if store is None:
        try:  # Ray's own choice of the default size
            from ray._private import utils

            store = int(utils.resolve_object_store_memory(utils.estimate_available_memory()))
        except Exception:  # noqa: BLE001 - another Ray version: any finite limit may be too small
            store = None
    if store is not None and limit >= store + _STORE_MARGIN:
        return
    below = ("an object store Ray maps as one file (30% of the free memory)" if store is None else
             f"the {store / 2**30:.2f} GiB object store Ray maps as one file")
    above = "raise the limit" if store is None else f"raise the limit above {(store + _STORE_MARGIN) / 2**30:.2f} GiB"
    error = OSError(f"a new local Ray instance cannot start under this process's file size limit (ulimit -f: "
                    f"{limit / 2**30:.2f} GiB), which is below {below} (its start timed out after half a minute); "
                    f"{above} (ulimit -f unlimited), or join a running Ray cluster (--ray-address on the command "
                    "line, address= or RAY_ADDRESS in Python)")
    error.errno = errno.EFBIG
    raise error


@contextlib.contextmanager
def _command_keeps_sigterm():
    """In the ``galton`` command, keep its SIGTERM handler through ``ray.init``, which first thing
    replaces it by its own (``sys.exit``): a SIGTERM during the start-up then exited from inside it.
    The command's handler, held back by :func:`galton._signals.deferred`, exits 143 once Ray has
    started, and Ray's exit hook stops the instance as it would after Ray's own handler."""
    utils = getattr(getattr(ray, "_private", None), "utils", None)
    if not handling() or not hasattr(utils, "set_sigterm_handler"):
        yield
        return
    saved = utils.set_sigterm_handler
    utils.set_sigterm_handler = lambda handler: None
    try:
        yield
    finally:
        utils.set_sigterm_handler = saved


class _loopback_node_address:
    """Let Ray keep a loopback node address (it rewrites 127.0.0.1 to the routable address on
    Linux unless it starts a single-machine instance, as on macOS and Windows)."""

    def __init__(self, node_ip: str):
        from ray._private import ray_constants

        self._constants = ray_constants
        self._active = node_ip in (_LOOPBACK, "localhost") and hasattr(ray_constants, "ENABLE_RAY_CLUSTER")

    def __enter__(self) -> None:
        if self._active:
            self._saved = self._constants.ENABLE_RAY_CLUSTER
            self._constants.ENABLE_RAY_CLUSTER = False

    def __exit__(self, *exc: object) -> None:
        if self._active:
            self._constants.ENABLE_RAY_CLUSTER = self._saved


def shutdown() -> None:
    """Disconnect from Ray (stopping the local instance if this process started it) and forget
    the idle shard actors kept for reuse."""
    global _started_here, _joined_as
    _shard_actor.forget_pool()
    if ray.is_initialized():
        ray.shutdown()
    _started_here, _joined_as = False, None
