"""galton.workers.cluster: where Ray is started or joined, and what a new local instance exposes."""

from __future__ import annotations

import ipaddress
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import ray

from galton.workers import cluster


# ---------------------------------------------------------------------------- address precedence
@pytest.mark.parametrize(
    "address, environ, expected",
    [
        ("ray://head:10001", {"RAY_ADDRESS": "10.0.0.5:6379"}, "ray://head:10001"),
        ("auto", {"RAY_ADDRESS": "10.0.0.5:6379"}, "auto"),
        ("local", {"RAY_ADDRESS": "10.0.0.5:6379"}, "local"),
        (None, {"RAY_ADDRESS": "10.0.0.5:6379"}, "10.0.0.5:6379"),
        (None, {"RAY_ADDRESS": "  "}, "local"),
        (None, {}, "local"),
    ],
)
def test_address_precedence_explicit_then_env_then_new_local(address, environ, expected):
    assert cluster.resolve_address(address, environ) == expected


def test_empty_address_is_refused():
    with pytest.raises(ValueError, match="address is empty"):
        cluster.resolve_address("   ", {})


# ---------------------------------------------------------------------------- idempotence
def _play_no_cluster(monkeypatch):
    """Ray's refusal of "auto" where no cluster runs (a real one on this machine would be found)."""
    def no_cluster(address=None, **kw):
        assert address == "auto"
        raise ConnectionError("Could not find any running Ray instance. Please specify the one to connect to by "
                              "setting `--address` flag or `RAY_ADDRESS` environment variable.")

    monkeypatch.setattr(ray, "is_initialized", lambda: False)
    monkeypatch.setattr(ray, "init", no_cluster)


def test_auto_without_a_cluster_names_galtons_option_not_rays_flag(tmp_path, monkeypatch, capsys):
    """``--ray-address auto`` with no cluster on the machine printed Ray's "setting `--address` flag or
    `RAY_ADDRESS`" (galton's option is --ray-address). Ray's own refusal is played here: another test
    session's cluster on this machine would be found by "auto"."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from galton.cli import main

    _play_no_cluster(monkeypatch)
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    with pytest.raises(ConnectionError, match="address 'auto' found no Ray cluster running on this machine"):
        cluster.connect("auto")
    (tmp_path / "d").mkdir()
    pq.write_table(pa.table({"task": [1, 1], "worker": [1, 2], "label": [0, 1]}), tmp_path / "d" / "p.parquet")
    assert main(["aggregate", str(tmp_path / "d"), "-m", "ds", "--ray-address", "auto", "-q"]) == 2
    err = capsys.readouterr().err
    assert "--ray-address on the command line" in err and "`--address` flag" not in err


def test_galton_verbose_is_read_as_every_on_off_variable() -> None:
    """GALTON_VERBOSE was on for 1, true and yes only (on, ON, y were off), unlike every other on / off
    variable of galton (galton._env, the README): 0, false, no, off are off, any other value on."""
    code = ("import importlib, os\nfrom galton.workers import cluster\nfor v in %r:\n"
            "    os.environ['GALTON_VERBOSE'] = v\n    print(importlib.reload(cluster)._verbose)\n")
    values = ["on", "ON", "y", "1", "TRUE", "0", "off", "No", "false", ""]
    env = {k: v for k, v in os.environ.items() if k != "GALTON_VERBOSE"}
    res = subprocess.run([sys.executable, "-c", code % values], capture_output=True, text=True, env=env, timeout=120)
    assert res.returncode == 0, res.stderr
    assert res.stdout.split() == ["True"] * 5 + ["False"] * 5


def test_an_address_from_ray_address_is_said_to_come_from_it(tmp_path, monkeypatch, capsys):
    """With the address in RAY_ADDRESS, the failures said "leave the address out" (it was left out),
    or "--ray-address on the command line", or Ray's "Invalid address format: abc": none named the
    variable. Ray's refusal of "auto" is played (a cluster on this machine would be found); a closed
    port and a word that is no address are refused before ray.init."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from galton.cli import main

    _play_no_cluster(monkeypatch)
    monkeypatch.setenv("RAY_ADDRESS", "auto")
    with pytest.raises(ConnectionError) as caught:
        cluster.connect()
    said = str(caught.value)
    assert said.startswith("address 'auto' (from the RAY_ADDRESS environment variable) found no Ray cluster"), said
    assert said.endswith("or unset RAY_ADDRESS to start a local instance") and "leave the address out" not in said
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("RAY_ADDRESS", f"127.0.0.1:{port}")
    with pytest.raises(ConnectionError, match=rf"^cannot reach the Ray cluster at '127.0.0.1:{port}' \(from the "
                       r"RAY_ADDRESS environment variable\) .* or unset RAY_ADDRESS to start a local instance$"):
        cluster.connect()
    monkeypatch.setenv("RAY_ADDRESS", "abc")
    with pytest.raises(ValueError, match=r"^address 'abc' \(from the RAY_ADDRESS environment variable\) is no Ray "
                       r"address; give 'auto', 'local', host:port .*; or unset RAY_ADDRESS to start a local"):
        cluster.connect()
    with pytest.raises(ValueError) as caught:  # given, not from the environment: nothing of the variable
        cluster.connect("abc")
    assert "RAY_ADDRESS" not in str(caught.value) and "is no Ray address" in str(caught.value)
    (tmp_path / "d").mkdir()
    pq.write_table(pa.table({"task": [1, 1], "worker": [1, 2], "label": [0, 1]}), tmp_path / "d" / "p.parquet")
    monkeypatch.setenv("RAY_ADDRESS", f"127.0.0.1:{port}")
    assert main(["aggregate", str(tmp_path / "d"), "-m", "ds", "--engine", "ray", "-q"]) == 2
    err = capsys.readouterr().err
    assert f"at '127.0.0.1:{port}' (from the RAY_ADDRESS environment variable)" in err, err
    assert "unset RAY_ADDRESS" in err and "leave the address out" not in err


@pytest.mark.skipif(sys.platform == "win32", reason="ulimit -f")
def test_a_file_size_limit_below_the_object_store_is_refused_at_once(tmp_path):
    """Under any ``ulimit -f`` below the object store (a file of that size), every command that
    started Ray failed after ~34 s with Ray's "The current node timed out during startup" (a local
    run handles the limit). The limit is checked before Ray starts: one line, in seconds."""
    import resource
    import time

    def limit() -> None:  # below Ray's smallest object store (75 MB): refused whatever the memory
        resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 2**20, resource.RLIM_INFINITY))

    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    t0 = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "galton", "simulate", "--n-tasks", "20", "--n-workers", "6", "--out",
                           str(tmp_path / "sim")], capture_output=True, text=True, timeout=120, preexec_fn=limit,
                          env=env)
    took = time.monotonic() - t0
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1, proc.stderr
    assert proc.stderr.startswith("galton: error: a new local Ray instance cannot start under this process's file "
                                  "size limit (ulimit -f: 0.06 GiB), which is below the "), proc.stderr
    assert "GiB object store Ray maps as one file" in proc.stderr and "(ulimit -f unlimited)" in proc.stderr
    assert took < 30 and os.listdir(tmp_path) == []  # Ray's own failure came after its 30 s start-up timeout


def test_a_file_size_limit_above_the_object_store_is_no_hindrance():
    """Measured (Ray 2.60): a 1 GiB limit starts a 1.07 GB object store, not a 1.074 GB one; only a
    limit below the store (with a small margin) is refused."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    if hard != resource.RLIM_INFINITY and hard < 2**30 or soft != resource.RLIM_INFINITY:
        pytest.skip("this process runs under a file size limit")
    resource.setrlimit(resource.RLIMIT_FSIZE, (2**30, hard))
    try:
        cluster._check_file_size_limit(10**9)  # below the limit: Ray starts
        with pytest.raises(OSError, match=r"\(ulimit -f: 1.00 GiB\), which is below the 1.07 GiB object store"):
            cluster._check_file_size_limit(1_150_000_000)
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
    cluster._check_file_size_limit(10**12)  # no limit: anything goes


def test_connect_twice_joins_the_same_instance(ray_session):
    node = ray.get_runtime_context().get_node_id()
    again = cluster.connect()
    assert again.address == ray_session.address
    assert again.started is True  # this process started it (the fixture did)
    assert ray.get_runtime_context().get_node_id() == node
    assert cluster.connect("local").address == ray_session.address


def test_connect_elsewhere_while_connected_says_to_shut_down_first(ray_session):
    with pytest.raises(RuntimeError, match="shutdown"):
        cluster.connect("ray://192.0.2.77:10001")
    assert cluster.is_connected()


def test_new_local_instance_has_the_requested_cpus_and_no_dashboard(ray_session):
    assert ray_session.started
    assert ray_session.num_cpus == 2
    assert ray_session.dashboard_url == ""
    host = ray_session.address.rsplit(":", 1)[0]
    assert ipaddress.ip_address(host).is_loopback, ray_session.address


# ---------------------------------------------------------------------------- what listens
def _ppid(pid: int) -> int:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat[stat.rindex(")") + 2:].split()[1])


def _descendants(root: int) -> set[int]:
    parents = {}
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            try:
                parents[int(p.name)] = _ppid(int(p.name))
            except (OSError, ValueError, IndexError):
                pass
    tree, grew = {root}, True
    while grew:
        new = {pid for pid, pp in parents.items() if pp in tree} - tree
        tree |= new
        grew = bool(new)
    return tree


def _listening_by_inode() -> dict[int, tuple[str, int]]:
    """inode -> (ip, port) of every listening TCP socket, from /proc/net/tcp and tcp6."""
    out = {}
    for name, family in (("tcp", socket.AF_INET), ("tcp6", socket.AF_INET6)):
        path = Path("/proc/net") / name
        if not path.exists():
            continue
        for line in path.read_text().splitlines()[1:]:
            f = line.split()
            if f[3] != "0A":  # LISTEN
                continue
            hexip, hexport = f[1].split(":")
            raw = bytes.fromhex(hexip)
            raw = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))  # per-word little endian
            out[int(f[9])] = (socket.inet_ntop(family, raw), int(hexport, 16))
    return out


def _listeners(pids: set[int]) -> list[tuple[int, str, str, int]]:
    socks = _listening_by_inode()
    found = []
    for pid in sorted(pids):
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
            cmd = Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " ")
        except OSError:
            continue
        for fd in fds:
            try:
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if target.startswith("socket:["):
                inode = int(target[8:-1])
                if inode in socks:
                    found.append((pid, cmd, *socks[inode]))
    return found


def _loopback(ip: str) -> bool:
    addr = ipaddress.ip_address(ip)
    mapped = getattr(addr, "ipv4_mapped", None)
    return (mapped or addr).is_loopback


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="needs Linux /proc")
def test_every_ray_server_listens_on_loopback_only_and_no_dashboard_serves(ray_session):
    pids = _descendants(os.getpid())
    found = _listeners(pids)
    gcs_port = int(ray_session.address.rsplit(":", 1)[1])
    assert any(port == gcs_port for _, _, _, port in found), f"GCS port {gcs_port} not found in {found}"
    assert len({pid for pid, *_ in found}) >= 3  # driver, GCS, raylet at least
    exposed = [(pid, cmd[:80], ip, port) for pid, cmd, ip, port in found if not _loopback(ip)]
    assert exposed == [], f"Ray servers listening beyond loopback: {exposed}"
    # the dashboard: Ray may keep a minimal usage-stats head without a frontend, which must serve nothing
    for pid in pids:
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " ")
        except OSError:
            continue
        if "dashboard/dashboard.py" in cmd:
            assert "--disable-frontend" in cmd, cmd
            assert not [f for f in found if f[0] == pid], f"the dashboard head listens: {found}"
    assert not [f for f in found if f[3] == 8265], "something listens on the dashboard port 8265"


_AUTH_PROBE = """
import os, sys
address, token = sys.argv[1], os.environ.pop("PROBE_TOKEN")
from ray._raylet import AuthenticationTokenLoader, Config, GcsClient
Config.initialize("")
for candidate in ("not-the-token", token):
    os.environ["RAY_AUTH_TOKEN"] = candidate
    AuthenticationTokenLoader.instance().reset_cache()
    try:
        GcsClient(address=address).internal_kv_get(b"galton-probe", None, timeout=5)
        print("accepted")
    except Exception as exc:
        print("refused", type(exc).__name__)
"""


def test_token_authentication_refuses_a_wrong_token(ray_session):
    assert ray_session.token_auth
    from ray._raylet import AuthenticationTokenLoader

    token = AuthenticationTokenLoader.instance().get_raw_token(ignore_auth_mode=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_AUTH_TOKEN")}
    env.update(RAY_AUTH_MODE="token", PROBE_TOKEN=token)
    run = subprocess.run([sys.executable, "-c", _AUTH_PROBE, ray_session.address], env=env,
                         capture_output=True, text=True, timeout=120, check=False)
    lines = run.stdout.split()
    assert run.returncode == 0, run.stderr[-2000:]
    assert lines[:2] == ["refused", "AuthenticationError"], run.stdout + run.stderr[-2000:]
    assert lines[2:] == ["accepted"], run.stdout + run.stderr[-2000:]


def test_joining_a_token_cluster_without_the_token_says_so(ray_session):
    """Without RAY_AUTH_MODE=token, ray.init printed Ray's C++ warnings for 20 s or more, then "Failed to
    connect" with no word of the token; the probe asks the GCS once and names the fix."""
    assert ray_session.token_auth
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_AUTH")}
    code = ("import galton.workers as gw\ntry:\n    gw.connect(%r)\nexcept ConnectionError as e:\n    print(e)"
            % ray_session.address)
    run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60,
                         check=False)
    assert "refused this process's token" in run.stdout and "RAY_AUTH_MODE=token" in run.stdout, run.stderr[-2000:]


# ---------------------------------------------------------------------------- unreachable addresses
def test_probe_accepts_the_real_gcs_address(ray_session):
    cluster.probe(ray_session.address, timeout=5)  # a real GCS answers the HTTP/2 preface


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_probe_refuses_a_closed_port_at_once():
    import time

    port = _free_port()
    t0 = time.perf_counter()
    with pytest.raises(ConnectionError, match=rf"127\.0\.0\.1:{port}.*refused.*ray status"):
        cluster.probe(f"127.0.0.1:{port}", timeout=5)
    assert time.perf_counter() - t0 < 5


def test_probe_refuses_a_port_that_is_not_ray():
    """An HTTP/1 server on the port: ray.init would wait for minutes; the probe says so at once."""
    import http.server
    import threading

    server = http.server.HTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with pytest.raises(ConnectionError, match="not as a gRPC server"):
            cluster.probe(f"ray://127.0.0.1:{server.server_address[1]}", timeout=5)
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("address", ["auto", "local", "myhost"])
def test_probe_leaves_addresses_without_a_port_to_ray(address):
    cluster.probe(address, timeout=0.01)  # nothing to connect to: no error, no wait


# ---------------------------------------------------------------------------- a session galton joined
def test_the_same_cluster_by_another_name_is_joined_not_refused(ray_session):
    """Ray reports the head by its own address; ``localhost:PORT`` for the cluster reported as
    127.0.0.1:PORT was refused ("call shutdown() first"), so was a user's own loopback address for
    the cluster Ray names by the machine's routable one."""
    port = ray_session.address.rpartition(":")[2]
    host = ray_session.address.rpartition(":")[0]
    name = "localhost" if host.startswith("127.") else socket.gethostbyaddr(host)[0]
    assert cluster.connect(f"{name}:{port}").address == ray_session.address
    with pytest.raises(RuntimeError, match="shutdown"):  # another port is another cluster
        cluster.connect(f"{name}:{int(port) + 1 if int(port) < 65535 else 1}")


def test_a_raylet_port_is_named_not_a_gcs_at_once(ray_session):
    """A gRPC server that is not a GCS (the raylet's port, given by mistake) passed the probe, and
    ray.init then printed Ray's C++ warnings for half a minute before "Failed to connect"."""
    import time

    raylet = next(n for n in ray.nodes() if n["Alive"])["NodeManagerPort"]
    start = time.monotonic()
    with pytest.raises(ConnectionError, match="answers, but not as a Ray cluster's GCS"):
        cluster.probe(f"127.0.0.1:{raylet}", timeout=5.0)
    assert time.monotonic() - start < 5.0
    cluster.probe(ray_session.address, timeout=5.0)  # the real GCS passes


@pytest.mark.parametrize("value", ["x", 1.5, True, 0])
def test_num_cpus_must_be_a_whole_number(ray_session, value):
    with pytest.raises(ValueError, match="num_cpus="):
        cluster.connect(num_cpus=value)


def test_other_cpus_or_a_missing_port_are_refused_while_connected(ray_session):
    assert cluster.connect("local", num_cpus=2).address == ray_session.address  # what the session has
    with pytest.raises(ValueError, match="num_cpus=3 applies only to a new local instance, and the local "
                                         "instance this process started has 2 CPUs"):
        cluster.connect("local", num_cpus=3)
    with pytest.raises(ValueError, match="'127.0.0.1:' has no port number"):
        cluster.connect("127.0.0.1:")


_USER_SESSION = r"""
import threading, ray
from galton.workers import cluster
# two threads' first fits on Ray: one ray.init, both joined to it
out, errors = [], []
def run():
    try:
        out.append(cluster.connect(num_cpus=1, include_dashboard=False).address)
    except Exception as exc:
        errors.append(repr(exc))
threads = [threading.Thread(target=run) for _ in range(2)]
[t.start() for t in threads]; [t.join() for t in threads]
print("threads", len(set(out)), len(out), errors)
# both threads have ended: the instance one of them started must still answer (Ray's servers die
# with the thread that started them, and this call then killed the process)
import pandas as pd
from galton import DawidSkene
df = pd.DataFrame({"task": [1, 1, 1, 2, 2, 2], "worker": list("abcabc"), "label": [0, 0, 1, 1, 1, 0]})
print("fit", DawidSkene().fit(df, engine="ray").labels_.tolist())
cluster.shutdown()
# a session the user started: never replaced, 'local' and other CPUs refused
ray.init(num_cpus=1, include_dashboard=False, logging_level="ERROR", log_to_driver=False)
for kw in ({"address": "local"}, {"num_cpus": 1}):
    try:
        cluster.connect(**kw)
        print("accepted", kw)
    except (RuntimeError, ValueError) as exc:
        print("refused", type(exc).__name__, str(exc)[:60])
print("joined", cluster.connect().started, ray.is_initialized())
ray.shutdown()
"""


def test_threads_share_one_start_and_a_users_session_is_kept():
    """Two threads' first fits on Ray both called ray.init (one died by Ray's AssertionError, a second
    GCS ran on); an instance a thread started died with that thread. Run in a fresh process: it starts
    and stops Ray itself (twice)."""
    env = {**os.environ, "PYTHONPATH": str(Path(cluster.__file__).resolve().parents[2])}
    proc = subprocess.run([sys.executable, "-c", _USER_SESSION], capture_output=True, text=True,
                          timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = proc.stdout.splitlines()
    assert "threads 1 2 []" in lines, proc.stdout
    assert "fit [0, 1]" in lines, proc.stdout
    assert lines[2].startswith("refused RuntimeError already connected to the Ray cluster at "), proc.stdout
    assert lines[3] == "refused ValueError num_cpus=1 applies only to a new local instance, and this pr", proc.stdout
    assert "joined False True" in lines, proc.stdout


_PROCESS_STATE = r"""
import os, signal
from galton.workers import cluster
env, term = dict(os.environ), signal.getsignal(signal.SIGTERM)
cluster.connect(num_cpus=1, include_dashboard=False)
print("changed", sorted(k for k in os.environ.keys() | env.keys() if os.environ.get(k) != env.get(k)))
cluster.shutdown()
print("left", sorted(k for k in os.environ.keys() | env.keys() if os.environ.get(k) != env.get(k)))
print("sigterm kept", signal.getsignal(signal.SIGTERM) is term)
"""


def test_shutdown_undoes_what_starting_ray_changed_in_the_process():
    """After galton started Ray itself, shutdown() left ray.init's changes to the process: os.environ
    kept PYTHONBREAKPOINT=ray.util.rpdb._driver_set_trace (breakpoint() then failed), RAY_AUTH_MODE,
    RAY_USAGE_STATS_ENABLED, RAY_CLIENT_MODE, all inherited by child processes, and SIGTERM stayed
    Ray's handler. Run in a fresh process: it starts and stops its own instance."""
    env = {**os.environ, "PYTHONPATH": str(Path(cluster.__file__).resolve().parents[2])}
    for key in ("PYTHONBREAKPOINT", "RAY_AUTH_MODE", "RAY_USAGE_STATS_ENABLED", "RAY_CLIENT_MODE", "RAY_ADDRESS"):
        env.pop(key, None)
    proc = subprocess.run([sys.executable, "-c", _PROCESS_STATE], capture_output=True, text=True,
                          timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = proc.stdout.splitlines()
    assert any(line.startswith("changed [") and "PYTHONBREAKPOINT" in line for line in lines), proc.stdout
    assert "left []" in lines, proc.stdout
    assert "sigterm kept True" in lines, proc.stdout
