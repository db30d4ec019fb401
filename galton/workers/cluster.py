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
import signal
import socket
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import ray

from .._env import switch
from .._settings import whole_number
from .._signals import deferred, handling
from .._warnings import warn
from . import _shard_actor
from ._probe import LOOPBACK, PROBE_TIMEOUT_S, from_environment, host_port, probe

__all__ = ["PROBE_TIMEOUT_S", "ClusterInfo", "connect", "is_connected", "probe", "resolve_address", "set_verbose",
           "shutdown"]

log = logging.getLogger(__name__)

LOCAL = "local"
_LOOPBACK = LOOPBACK
_started_here = False
#: one connect / shutdown at a time: two threads' first fits on Ray both found Ray down and both
#: called ray.init (the second died by Ray's AssertionError, a second GCS and raylet ran on)
_LOCK = threading.RLock()
#: the address this process joined a cluster by, as written (Ray reports the head by its own address:
#: 127.0.0.1:6379 or a host name is the same cluster as the 10.0.0.5:6379 Ray names)
_joined_as: str | None = None

#: Ray's own start-up and log lines reach the terminal only when this is True (``galton -v``,
#: ``GALTON_VERBOSE`` on, or :func:`set_verbose`); otherwise Ray logs at ERROR level and worker
#: output stays in Ray's logs. Read as every on / off variable (:mod:`galton._env`): on, ON, y are on
_verbose = bool(switch("GALTON_VERBOSE"))


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
    num_cpus : CPUs of a new local instance (a whole number; default: the cores this process may
        use); refused when joining an existing cluster, and while connected unless it is the count
        of the instance this process started.
    **kw : passed to ``ray.init`` (for example ``object_store_memory``, ``runtime_env``,
        ``include_dashboard=True`` to turn the dashboard back on).

    Returns
    -------
    ClusterInfo

    Raises
    ------
    ConnectionError
        when ``address`` (or ``RAY_ADDRESS``) is a ``host:port`` that accepts no connection within
        :data:`PROBE_TIMEOUT_S` seconds (an address taken from ``RAY_ADDRESS`` is said to be, with
        the way to a local instance: unset it).
    RuntimeError
        when this process is already connected and ``address`` explicitly names another cluster
        (the same cluster by another name, a host name or a loopback address, is joined), or is
        ``"local"`` while connected to a cluster this process did not start; call :func:`shutdown`
        first.

    Safe to call from several threads; a new local instance started from a thread other than the
    main one is started by a thread that lasts until :func:`shutdown` (Ray's servers die with the
    thread that started them).
    """
    if num_cpus is not None:
        num_cpus = whole_number("num_cpus", num_cpus, 1)
    with _LOCK:
        return _connect(address, num_cpus, kw)


def _connect(address: str | None, num_cpus: int | None, kw: dict[str, Any]) -> ClusterInfo:
    target = resolve_address(address)
    if address is not None or target == LOCAL:
        return _connect_to(address, target, num_cpus, kw)
    try:  # the address is RAY_ADDRESS's: its failures say so (they said "leave the address out")
        return _connect_to(address, target, num_cpus, kw)
    except (ConnectionError, ValueError) as exc:
        raise from_environment(exc, target) from None


def _connect_to(address: str | None, target: str, num_cpus: int | None, kw: dict[str, Any]) -> ClusterInfo:
    global _started_here, _joined_as
    if host_port(target) is None and target.count(":") == 1 and not target.startswith("ray://"):
        raise ValueError(f"address {target!r} has no port number; write host:port (GCS port 6379 by default)")
    if ray.is_initialized():
        _check_joined(address, target, num_cpus)
        return _info(_started_here)
    if target != LOCAL:
        if num_cpus is not None:
            raise ValueError(f"num_cpus applies only to a new local instance, not to {target}")
        if host_port(target) is None and target != "auto" and not target.startswith("ray://"):
            raise ValueError(f"address {target!r} is no Ray address; give 'auto', 'local', host:port (GCS port "
                             "6379 by default) or ray://host:port")  # Ray's words: "Invalid address format: abc"
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
        warn(
            "RAY_AUTH_MODE=disabled: the new local Ray instance runs without token authentication; "
            "unset RAY_AUTH_MODE to keep it", UserWarning, stacklevel=2,
        )
    _check_file_size_limit(kw.get("object_store_memory"))
    opts: dict[str, Any] = {"include_dashboard": False, "_node_ip_address": _LOOPBACK}
    opts.update(_log_options(kw))
    opts["num_cpus"] = num_cpus if num_cpus is not None else _cpu_count()
    # Ctrl-C / SIGTERM inside ray.init (the galton command's Interrupted, or Ray's own SystemExit) left
    # Ray half started: the command then died by SIGSEGV at exit or hung; deferred() raises the
    # interrupt once ray.init has returned, so the command unwinds with Ray whole and exits 130 / 143
    def start() -> None:
        env, main = dict(os.environ), threading.current_thread() is threading.main_thread()
        term = signal.getsignal(signal.SIGTERM) if main else None
        with deferred("Ray has started"), _command_keeps_sigterm(), \
                _loopback_node_address(opts["_node_ip_address"]), _ray_logs_quiet():
            ray.init(address=LOCAL, **opts)
        _undo["env"] = {k: (env.get(k), os.environ.get(k)) for k in os.environ.keys() | env.keys()
                        if os.environ.get(k) != env.get(k)}
        _undo["sigterm"] = (term, signal.getsignal(signal.SIGTERM)) if main else None

    _in_a_lasting_thread(start)
    _started_here = True
    return _info(True)


#: what ray.init of the instance galton started changed, put back by :func:`shutdown` (PYTHONBREAKPOINT made
#: breakpoint() fail): "env": key -> (before, Ray's), None if absent; "sigterm": (before, Ray's), main thread only
_undo: dict[str, Any] = {}

#: set by :func:`shutdown`: the thread that started Ray (see :func:`_in_a_lasting_thread`) may end
_KEEPER_STOP = threading.Event()


def _in_a_lasting_thread(start: Any) -> None:
    """Run ``start()`` (``ray.init`` of a new instance) in a thread that lives until :func:`shutdown`.
    Ray starts its servers with ``PR_SET_PDEATHSIG``, which kills them when the *thread* that started
    them ends, not the process: a first fit on Ray in a worker thread (a thread pool's, a web
    handler's) left a dead instance behind once that thread ended, and the next call killed the
    process ("Failed to connect to GCS within 60 seconds. ... The program will terminate"). The main
    thread lasts as long as the process, so it starts Ray itself."""
    if threading.current_thread() is threading.main_thread():
        start()
        return
    done, box = threading.Event(), {}
    _KEEPER_STOP.clear()

    def keep() -> None:
        try:
            start()
        except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
            box["error"] = exc
        done.set()
        if "error" not in box:
            _KEEPER_STOP.wait()

    threading.Thread(target=keep, name="galton-ray-keeper", daemon=True).start()
    done.wait()
    if "error" in box:
        raise box["error"]


def _check_joined(address: str | None, target: str, num_cpus: int | None) -> None:
    """Refuse what the running session cannot give: another cluster by its address, a new local
    instance ("local") where this process joined a cluster it did not start, or other CPUs."""
    current = _info(_started_here).address
    if address is not None:
        if target == LOCAL and not _started_here:
            raise RuntimeError(
                f"already connected to the Ray cluster at {current}, which this process did not start; "
                "'local' asks for a new local instance: call galton.workers.shutdown() first, or leave the "
                "address out to use this cluster"
            )
        if target not in (LOCAL, "auto") and target != _joined_as and not _same_cluster(target, current):
            raise RuntimeError(
                f"already connected to the Ray cluster at {current}; call "
                f"galton.workers.shutdown() before connecting to {target}"
            )
    cpus = int(ray.cluster_resources().get("CPU", 0)) if num_cpus is not None and _started_here else 0
    if num_cpus is not None and not (_started_here and num_cpus == cpus):
        now = (f"the local instance this process started has {cpus} CPUs" if _started_here
               else f"this process is already connected to the Ray cluster at {current}")
        raise ValueError(f"num_cpus={num_cpus} applies only to a new local instance, and {now}; "
                         "call galton.workers.shutdown() first, or leave num_cpus out")


def _same_cluster(target: str, current: str) -> bool:
    """Whether ``target`` names the cluster at ``current`` (as Ray reports it: the head's routable
    address) in other words: the same port on a host name or a loopback address that resolves to the
    head (a user's ``ray.init(address="127.0.0.1:6379")`` is reported as 10.0.0.5:6379)."""
    if target.removeprefix("ray://") == current:
        return True
    if target.startswith("ray://"):
        return False
    want, have = host_port(target), host_port(current)
    if want is None or have is None or want[1] != have[1]:
        return False
    try:
        resolved = {info[4][0] for info in socket.getaddrinfo(want[0], want[1], proto=socket.IPPROTO_TCP)}
    except OSError:
        return False
    if have[0] in resolved:
        return True
    try:  # a loopback name reaches the head only when the head runs on this machine
        here = ray.util.get_node_ip_address()
    except Exception:  # noqa: BLE001 - Ray Client or another Ray version: not provably the same
        return False
    return have[0] == here and any(ip.startswith("127.") or ip == "::1" for ip in resolved)


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
    with _LOCK:
        _shard_actor.forget_pool()
        if ray.is_initialized():
            ray.shutdown()
        _started_here, _joined_as = False, None
        _KEEPER_STOP.set()
        for key, (before, ours) in _undo.pop("env", {}).items():  # what the user changed since stays
            if os.environ.get(key) == ours and before is None:
                del os.environ[key]
            elif os.environ.get(key) == ours:
                os.environ[key] = before
        term = _undo.pop("sigterm", None)  # (signal.signal: main thread only)
        if term is not None and term[0] is not None and signal.getsignal(signal.SIGTERM) is term[1] and \
                threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, term[0])
