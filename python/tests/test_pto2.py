"""Tests of the pto2 Python package (run by `make test` through ctest)."""
import ctypes
import json

import numpy as np
import pytest

import pto2
from pto2 import bench


@pytest.fixture(scope="module")
def rt():
    with pto2.Runtime(block_dim=2, worker_threads=1, log_level=pto2.LOG_SILENT) as r:
        yield r


@pytest.fixture(scope="module")
def pa(rt):
    return rt.load_plugin(pto2.plugin_path("pto2_pa"))


def small_inputs(seed=7, batch=3, lens=(33, 17, 64)):
    return bench.make_inputs(batch=batch, heads=16, dim=16, block_size=16,
                             context_lens=list(lens), max_model_len=128, seed=seed)


def want_of(x):
    return bench.golden(x["query"], x["key_cache"], x["value_cache"], x["block_table"],
                        x["context_lens"])


def test_version_and_abi():
    assert pto2.__version__.count(".") == 2
    lib = pto2._lib
    assert lib.pto2_version_number() == int("".join(
        f"{int(p):02d}" for p in pto2.__version__.split(".")))
    for name, mirror in pto2._ffi._MIRRORS.items():
        assert lib.pto2_abi_struct_size(name.encode()) == ctypes.sizeof(mirror)
    assert pto2.E_INVALID_ARGS == -5 and pto2.E_INTERNAL == -14 and pto2.E_ABORTED == -15


@pytest.mark.parametrize("scene", [0, 1])
@pytest.mark.parametrize("lane", [0, 1, 2])
def test_paged_attention_matches_numpy(rt, pa, lane, scene):
    x = small_inputs()
    out = x["out"]
    st = rt.run(pa, bench.tensors_of(x), scalars=[lane, scene])
    assert x["out"] is out  # written in place: zero-copy
    np.testing.assert_allclose(out, want_of(x), rtol=1e-2, atol=1e-2)
    assert st.tasks > 0 and st.edges > 0 and st.elapsed_ns >= st.orch_ns > 0
    assert max(st.ring_task_high_water) > 0


def test_stats_are_per_run_and_deterministic(rt, pa):
    x = small_inputs()
    a = rt.run(pa, bench.tensors_of(x), scalars=[0, 0])
    b = rt.run(pa, bench.tensors_of(x), scalars=[0, 0])
    assert (a.tasks, a.edges) == (b.tasks, b.edges)
    d = a.as_dict()
    assert set(d) >= {"tasks", "edges", "orch_ns", "elapsed_ns"}


def test_orchestration_error_raises_with_message_and_runtime_recovers(rt, pa):
    x = small_inputs()
    with pytest.raises(pto2.Error) as e:
        rt.run(pa, bench.tensors_of(x)[:5])  # `out` missing
    assert e.value.code == pto2.E_ABORTED
    assert e.value.name == "PTO2_E_ABORTED"
    assert "expected 6 tensors" in str(e.value)
    assert "expected 6 tensors" in rt.error_message
    # The runtime runs again, correctly.
    rt.run(pa, bench.tensors_of(x))
    np.testing.assert_allclose(x["out"], want_of(x), rtol=1e-2, atol=1e-2)


def test_bad_block_table_raises_with_message_and_runtime_recovers(rt, pa):
    x = small_inputs()
    x["block_table"][0, 1] = 10_000
    with pytest.raises(pto2.Error) as e:
        rt.run(pa, bench.tensors_of(x))
    assert e.value.code == pto2.E_ABORTED
    assert "block_table[0][1] = 10000 is outside the cache" in e.value.message
    assert e.value.message in rt.error_message
    y = small_inputs(seed=8)
    rt.run(pa, bench.tensors_of(y))
    np.testing.assert_allclose(y["out"], want_of(y), rtol=1e-2, atol=1e-2)


def test_bad_scalars_and_shapes(rt, pa):
    x = small_inputs()
    with pytest.raises(pto2.Error, match="lane must be"):
        rt.run(pa, bench.tensors_of(x), scalars=[7])
    x["context_lens"][1] = 0
    with pytest.raises(pto2.Error, match="context_lens"):
        rt.run(pa, bench.tensors_of(x))
    y = small_inputs()
    y["out"] = np.zeros((3, 16, 15), np.float32)
    with pytest.raises(pto2.Error, match="out must be"):
        rt.run(pa, bench.tensors_of(y))


def test_tensor_conversion():
    a = np.arange(12, dtype=np.float32).reshape(3, 4)
    t = pto2.tensor(a)
    assert t.data == a.ctypes.data and t.ndims == 2 and t.dtype == pto2.FLOAT32
    assert list(t.shapes)[:2] == [3, 4]
    with pytest.raises(ValueError, match="C-contiguous"):
        pto2.tensor(a.T)
    with pytest.raises(TypeError, match="dtype"):
        pto2.tensor(np.zeros(3, np.complex64))
    with pytest.raises(ValueError, match="dimensions"):
        pto2.tensor(np.zeros((1,) * 6, np.float32))
    with pytest.raises(ValueError):
        pto2.tensor(np.zeros((0, 4), np.float32))


def test_scalars():
    bits = pto2._scalar_bits
    assert bits(1.0) == 0x3F800000
    assert bits(-1) == (1 << 64) - 1
    assert bits(np.float16(1.0)) == 0x3C00
    assert bits(np.int32(-1)) == 0xFFFFFFFF
    with pytest.raises(TypeError):
        bits("x")
    with pytest.raises(OverflowError):
        bits(1 << 64)


def test_trace(rt, pa, tmp_path):
    x = small_inputs()
    rt.trace_enable(4096)
    try:
        rt.run(pa, bench.tensors_of(x))
        path = tmp_path / "trace.json"
        rt.trace_write(path)
    finally:
        rt.trace_disable()
    doc = json.loads(path.read_text())
    events = doc["traceEvents"] if isinstance(doc, dict) else doc
    names = {e.get("name") for e in events}
    assert {"QK", "SF", "PV", "UP"} <= names


def test_config_and_errors():
    with pto2.Runtime(block_dim=3, worker_threads=1, log_level=pto2.LOG_SILENT) as r:
        assert r.config["block_dim"] == 3
    with pytest.raises(TypeError, match="unknown config field"):
        pto2.Runtime(blocks=3)
    with pytest.raises(pto2.Error) as e:
        pto2.Runtime(task_window=3, log_level=pto2.LOG_SILENT)  # not a power of two
    assert e.value.code == pto2.E_INVALID_CONFIG
    with pto2.Runtime(block_dim=3, worker_threads=pto2.WORKERS_NONE,
                      log_level=pto2.LOG_SILENT) as r:
        assert r.config["worker_threads"] == 0
    r = pto2.Runtime(worker_threads=1, log_level=pto2.LOG_SILENT)
    r.close()
    with pytest.raises(pto2.Error, match="closed"):
        r.config


def test_plugin_errors(rt, tmp_path):
    with pytest.raises(pto2.Error, match="cannot load plugin"):
        rt.load_plugin(tmp_path / "missing.so")
    with pytest.raises(pto2.Error, match="not a pto2 plugin"):
        rt.load_plugin(pto2.library_path)  # a shared library without the entry points
    other = pto2.Plugin(pto2.plugin_path("pto2_pa"))
    with pytest.raises(pto2.Error, match="not loaded"):
        rt.run(other, [])


def test_bench_main(capsys):
    assert bench.main(["--lane", "auto", "--scene", "base", "--rounds", "1", "--json"]) == 0
    rec = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert rec["ok"] and rec["tasks"] > 0


@pytest.fixture(scope="module")
def drt():
    # Kernel ids are per runtime: the demo plugin gets its own (its ids
    # 0..2 are the paged-attention plugin's too).
    with pto2.Runtime(block_dim=2, worker_threads=1, log_level=pto2.LOG_SILENT) as r:
        yield r


@pytest.fixture(scope="module")
def demo(drt):
    return drt.load_plugin(pto2.plugin_path("pto2_demo"))


def test_demo_plugin(drt, demo):
    x = np.arange(40 * 8, dtype=np.float32).reshape(40, 8)
    y = np.zeros_like(x)
    st = drt.run(demo, [x, y], scalars=[3.0])
    np.testing.assert_array_equal(y, 4 * x)
    assert st.tasks == 6 and st.edges == 3  # 3 blocks of up to 16 rows: scale -> add


def python_orchestration(x, y, factor):
    def orch(o):
        xt, yt = o.tensor(x), o.tensor(y)
        rows, cols = x.shape
        for r in range(0, rows, 16):
            n = min(16, rows - r)
            with o.scope(pto2.SCOPE_AUTO):
                xb, yb = o.view(xt, [n, cols], [r, 0]), o.view(yt, [n, cols], [r, 0])
                tid, (t,) = o.submit_aiv(0, pto2.Args().input(xb).output([n, cols])
                                         .scalar(float(factor)))
                assert pto2.task_id_is_valid(tid) and t.ndims == 2
                o.submit_aiv(1, pto2.Args().input(t).input(xb).output_existing(yb))
    return orch


def test_python_orchestration(drt, demo):
    x = np.arange(40 * 8, dtype=np.float32).reshape(40, 8)
    y = np.zeros_like(x)
    st = drt.run(python_orchestration(x, y, 2.0))
    np.testing.assert_array_equal(y, 3 * x)
    assert st.tasks == 6 and st.edges == 3  # the same graph as the plugin's


def test_python_orchestration_exception_aborts_and_runtime_recovers(drt, demo):
    def orch(o):
        o.submit_aiv(2, pto2.Args())
        raise KeyError("no such block")
    with pytest.raises(KeyError, match="no such block"):
        drt.run(orch)
    assert drt.error_code == pto2.E_ABORTED
    assert "KeyError" in drt.error_message
    x = np.ones((16, 4), np.float32)
    y = np.zeros_like(x)
    drt.run(python_orchestration(x, y, 1.0))
    np.testing.assert_array_equal(y, 2 * x)


def test_python_orchestration_errors(drt, demo):
    def unknown_kernel(o):
        o.submit_aiv(63, pto2.Args())
    with pytest.raises(pto2.Error) as e:
        drt.run(unknown_kernel)
    assert e.value.code == pto2.E_UNKNOWN_KERNEL and "63" in e.value.message

    def bad_args(o):
        a = pto2.Args().scalar(1)
        a.input(np.zeros(4, np.float32))  # a tensor after a scalar
        tid, _ = o.submit_aiv(2, a)
        assert not pto2.task_id_is_valid(tid)
    with pytest.raises(pto2.Error, match="after add_scalar"):
        drt.run(bad_args)

    def failing_kernel(o):  # the scale kernel rejects a missing scalar
        x = o.tensor(np.zeros((2, 2), np.float32))
        o.submit_aiv(0, pto2.Args().input(x).output([2, 2]))
    with pytest.raises(pto2.Error) as e:
        drt.run(failing_kernel)
    assert e.value.code == pto2.E_KERNEL_FAILED and "scale" in e.value.message


def manual_orchestration(x, y, factor, dependency=True, ids=None):
    """t = scale(x) then y = add(t, x), in one MANUAL scope: the order comes
    only from add_dependency."""
    def orch(o):
        xt, yt = o.tensor(x), o.tensor(y)
        with o.scope(pto2.SCOPE_MANUAL):
            s, (t,) = o.submit_aiv_manual(0, pto2.Args().input(xt).output(list(x.shape))
                                          .scalar(float(factor)))
            a, _ = o.submit_aiv_manual(1, pto2.Args().input(t).input(xt).output_existing(yt))
            assert pto2.task_id_is_valid(s) and pto2.task_id_is_valid(a)
            if ids is not None:
                ids[:] = [s.raw, a.raw]
            if dependency:
                assert o.add_dependency(s, a) == 0
    return orch


def test_python_manual_scope(drt, demo):
    x = np.arange(16 * 8, dtype=np.float32).reshape(16, 8)
    y = np.zeros_like(x)
    st = drt.run(manual_orchestration(x, y, 2.0))
    np.testing.assert_array_equal(y, 3 * x)
    assert st.tasks == 2 and st.edges == 1  # the declared edge only


def test_python_manual_scope_mixed_and_aic_submits(drt, demo):
    # submit_task_manual with one AIV lane is the same task as submit_aiv_manual.
    x = np.arange(16 * 4, dtype=np.float32).reshape(16, 4)
    y = np.zeros_like(x)

    def orch(o):
        xt, yt = o.tensor(x), o.tensor(y)
        with o.scope(pto2.SCOPE_MANUAL):
            s, (t,) = o.submit_task_manual(pto2.Args().input(xt).output([16, 4]).scalar(2.0),
                                           aiv0=0)
            a, _ = o.submit_task_manual(pto2.Args().input(t).input(xt).output_existing(yt),
                                        aiv0=1)
            o.add_dependency(s, a)
    st = drt.run(orch)
    np.testing.assert_array_equal(y, 3 * x)
    assert st.edges == 1

    def aic(o):  # the demo kernels are AIV kernels: the runtime says so
        with o.scope(pto2.SCOPE_MANUAL):
            o.submit_aic_manual(2, pto2.Args())
    with pytest.raises(pto2.Error) as e:
        drt.run(aic)
    assert "pto2_submit_aic_manual" in e.value.message


@pytest.mark.parametrize("method", ["submit_aiv", "submit_aic"])
def test_python_plain_submit_in_manual_scope_names_the_python_method(drt, demo, method):
    def orch(o):
        with o.scope(pto2.SCOPE_MANUAL):
            getattr(o, method)(2, pto2.Args())
    with pytest.raises(pto2.Error) as e:
        drt.run(orch)
    assert e.value.code == pto2.E_INVALID_ARGS
    assert f"Orchestrator.{method} inside a MANUAL scope" in str(e.value)
    assert f"Orchestrator.{method}_manual" in str(e.value)
    assert "pto2_submit" not in str(e.value)
    assert "Orchestrator." + method in drt.error_message  # the run was aborted with it
    # Nested scopes: the innermost one decides, and the runtime runs again.
    x = np.ones((16, 4), np.float32)
    y = np.zeros_like(x)

    def nested(o):
        with o.scope(pto2.SCOPE_MANUAL):
            with o.scope(pto2.SCOPE_MANUAL):
                o.submit_aiv_manual(2, pto2.Args())
            o.submit_aiv_manual(2, pto2.Args())
        manual_orchestration(x, y, 1.0)(o)
        o.submit_aiv(2, pto2.Args())
    drt.run(nested)
    np.testing.assert_array_equal(y, 2 * x)


@pytest.mark.parametrize("mode", [None, pto2.SCOPE_AUTO, pto2.SCOPE_GRAPH,
                                  pto2.SCOPE_AUTO_STRICT])
def test_python_manual_submit_outside_manual_scope(drt, demo, mode):
    def orch(o):
        if mode is None:
            o.submit_aiv_manual(2, pto2.Args())
        else:
            with o.scope(mode):
                o.submit_aiv_manual(2, pto2.Args())
    with pytest.raises(pto2.Error, match=r"Orchestrator.submit_aiv_manual outside a MANUAL "
                       r"scope.*SCOPE_MANUAL.*Orchestrator.submit_aiv$") as e:
        drt.run(orch)
    assert e.value.code == pto2.E_INVALID_ARGS


def test_scope_mode_constants():
    assert (pto2.SCOPE_AUTO, pto2.SCOPE_MANUAL, pto2.SCOPE_GRAPH,
            pto2.SCOPE_AUTO_STRICT) == (0, 1, 2, 3)
    assert (pto2.HAZARD_CHECK_DEFAULT, pto2.HAZARD_CHECK_OFF, pto2.HAZARD_CHECK_FAIL,
            pto2.HAZARD_CHECK_WARN) == (0, 1, 2, 3)
    assert (pto2.HAZARD_RAW, pto2.HAZARD_WAR, pto2.HAZARD_WAW) == (0, 1, 2)


def war_orchestration(x, y, z, mode):
    """y = scale(x), then x = add(z, z): a write-after-read on x that only a
    strict scope orders."""
    def orch(o):
        xt, yt, zt = o.tensor(x), o.tensor(y), o.tensor(z)
        with o.scope(mode):
            o.submit_aiv(0, pto2.Args().input(xt).output_existing(yt).scalar(2.0))
            o.submit_aiv(1, pto2.Args().input(zt).input(zt).output_existing(xt))
    return orch


def test_auto_strict_scope_and_config(demo):
    x, y, z = np.ones((4, 4), np.float32), np.zeros((4, 4), np.float32), np.full((4, 4), 5.0,
                                                                                 np.float32)
    with pto2.Runtime(block_dim=2, worker_threads=1, log_level=pto2.LOG_SILENT) as r:
        r.load_plugin(demo)
        assert r.run(war_orchestration(x, y, z, pto2.SCOPE_AUTO)).edges == 0
        x[:] = 1
        st = r.run(war_orchestration(x, y, z, pto2.SCOPE_AUTO_STRICT))
        assert st.edges == 1  # the add waits for the scale's read of x
        np.testing.assert_array_equal(y, 2 * np.ones((4, 4), np.float32))
        np.testing.assert_array_equal(x, 2 * z)
        assert r.config["auto_strict"] is False
    with pto2.Runtime(block_dim=2, worker_threads=1, log_level=pto2.LOG_SILENT,
                      auto_strict=True) as r:
        assert r.config["auto_strict"] is True
        r.load_plugin(demo)
        x[:] = 1
        assert r.run(war_orchestration(x, y, z, pto2.SCOPE_AUTO)).edges == 1
        np.testing.assert_array_equal(y, 2 * np.ones((4, 4), np.float32))


def test_hazard_check_lists_hazards(demo):
    x = np.arange(16 * 8, dtype=np.float32).reshape(16, 8)
    y = np.zeros_like(x)
    with pto2.Runtime(block_dim=2, worker_threads=1, log_level=pto2.LOG_SILENT,
                      hazard_check=pto2.HAZARD_CHECK_FAIL) as r:
        assert r.config["hazard_check"] == pto2.HAZARD_CHECK_FAIL
        r.load_plugin(demo)
        st = r.run(manual_orchestration(x, y, 2.0))  # ordered: no hazard
        assert r.hazards() == [] and st.hazard_check_bytes > 0
        ids = []
        with pytest.raises(pto2.Error) as e:  # the same without the edge
            r.run(manual_orchestration(x, y, 2.0, dependency=False, ids=ids))
        assert e.value.code == pto2.E_HAZARD
        hz = r.hazards()
        assert len(hz) == 1
        h = hz[0]
        assert h.kind == pto2.HAZARD_RAW and h.kind_name == "RAW" and not h.possible
        assert h.nbytes == x.nbytes and [h.first.task, h.second.task] == ids
        assert isinstance(h.first.task, pto2.TaskId) and isinstance(h.owner, pto2.TaskId)
        assert [int(h.first.task), int(h.second.task)] == ids
        assert h.owner == h.first.task and h.addr
        assert (h.first.kernel, h.second.kernel) == ("scale", "add")
        assert h.first.scope_mode == h.second.scope_mode == pto2.SCOPE_MANUAL
        assert h.first.arg_kind == pto2.ARG_OUTPUT and h.second.arg_kind == pto2.ARG_INPUT
        assert h.first.shapes == h.second.shapes == (16, 8)
        assert "read-after-write" in str(h) and "'scale'" in str(h) and "'add'" in str(h)
        assert h.cause and h.cause in str(h)
        r.run(manual_orchestration(x, y, 2.0))  # the next run clears the list
        assert r.hazards() == []
    with pto2.Runtime(block_dim=2, worker_threads=1, log_level=pto2.LOG_SILENT,
                      hazard_check=pto2.HAZARD_CHECK_WARN) as r:
        r.load_plugin(demo)
        r.run(manual_orchestration(x, y, 2.0, dependency=False))  # warns, succeeds
        assert [h.kind for h in r.hazards()] == [pto2.HAZARD_RAW]
    with pto2.Runtime(block_dim=2, worker_threads=1, log_level=pto2.LOG_SILENT,
                      hazard_check=pto2.HAZARD_CHECK_OFF) as r:
        r.load_plugin(demo)
        st = r.run(manual_orchestration(x, y, 2.0, dependency=False))
        assert r.hazards() == [] and st.hazard_check_bytes == 0
    with pytest.raises(ValueError, match="HAZARD_CHECK_FAIL"):
        pto2.Runtime(hazard_check=7)


# ---- A pto2.Error raised in a Python orchestration is the run's error --------

def kind_error_in_manual(o):
    with o.scope(pto2.SCOPE_MANUAL):
        o.submit_aiv(2, pto2.Args())


def kind_error_outside_manual(o):
    o.submit_aiv_manual(2, pto2.Args())


def block_num_error(o):
    o.submit_aiv(2, pto2.Args().block_num(0))


def data_access_error(o):
    o.get_tensor_data(o.tensor(np.zeros(4, np.float32)), index=4)


def own_error(o):
    raise pto2.Error(pto2.E_DEPENDENCY_OVERFLOW, "my orchestration: too many producers")


@pytest.mark.parametrize("orch,code", [
    (kind_error_in_manual, pto2.E_INVALID_ARGS), (kind_error_outside_manual, pto2.E_INVALID_ARGS),
    (block_num_error, pto2.E_INVALID_ARGS), (data_access_error, pto2.E_INVALID_ARGS),
    (own_error, pto2.E_DEPENDENCY_OVERFLOW)])
def test_python_error_in_orchestration_is_the_runs_error(drt, demo, orch, code):
    with pytest.raises(pto2.Error) as e:
        drt.run(orch)
    assert e.value.code == code  # not E_ABORTED: one error, seen the same everywhere
    assert drt.error_code == code
    assert drt.error_message == e.value.message
    assert "pto2_" not in e.value.message
    x = np.ones((16, 4), np.float32)  # the runtime runs again
    y = np.zeros_like(x)
    drt.run(python_orchestration(x, y, 1.0))
    np.testing.assert_array_equal(y, 2 * x)


def test_python_error_after_an_earlier_failure_raises_the_runs_first_error(drt, demo):
    def orch(o):
        tid, _ = o.submit_aiv(63, pto2.Args())  # fails the run: no kernel 63
        assert not pto2.task_id_is_valid(tid)
        kind_error_outside_manual(o)
    with pytest.raises(pto2.Error) as e:
        drt.run(orch)
    assert e.value.code == drt.error_code == pto2.E_UNKNOWN_KERNEL
    assert e.value.message == drt.error_message
    assert isinstance(e.value.__cause__, pto2.Error)  # the later one, chained
    assert e.value.__cause__.code == pto2.E_INVALID_ARGS


def test_python_nested_run_fails_the_outer_run_with_the_same_error(drt, demo):
    def orch(o):
        drt.run(lambda o2: None)  # pto2_run inside a run: E_BUSY
    with pytest.raises(pto2.Error) as e:
        drt.run(orch)
    assert e.value.code == drt.error_code == pto2.E_BUSY
    assert e.value.message == drt.error_message


def test_python_error_with_a_code_that_is_not_an_error_code(drt, demo):
    def orch(o):
        raise pto2.Error(-999, "made up")
    with pytest.raises(pto2.Error) as e:
        drt.run(orch)
    assert e.value.code == drt.error_code == pto2.E_INVALID_ARGS
    assert "-999 is not a PTO2_E_* error code" in e.value.message
    assert "made up" in e.value.message and e.value.message == drt.error_message


# ---- Blocking data access and SPMD blocks -------------------------------------

def test_get_tensor_data_reads_what_tasks_wrote(drt, demo):
    x = np.arange(16 * 8, dtype=np.float32).reshape(16, 8)
    y = np.zeros_like(x)
    seen = {}

    def orch(o):
        xt, yt = o.tensor(x), o.tensor(y)
        _, (t,) = o.submit_aiv(0, pto2.Args().input(xt).output([16, 8]).scalar(2.0))
        seen["t"] = o.get_tensor_data(t)  # waits for the scale task
        seen["t_3_5"] = o.get_tensor_data(t, index=(3, 5))
        o.submit_aiv(1, pto2.Args().input(t).input(xt).output_existing(yt))
        out = np.full((4, 8), -1, np.float32)
        seen["y_rows"] = o.get_tensor_data(o.view(yt, [4, 8], [12, 0]), out)
        seen["y_rows_is_out"] = seen["y_rows"] is out
        seen["y"] = o.get_tensor_data(y)  # a numpy array works as well
    drt.run(orch)
    np.testing.assert_array_equal(seen["t"], 2 * x)
    assert seen["t"].dtype == np.float32 and seen["t"].shape == (16, 8)
    assert seen["t_3_5"] == 2 * x[3, 5] and isinstance(seen["t_3_5"], np.float32)
    np.testing.assert_array_equal(seen["y_rows"], 3 * x[12:])
    assert seen["y_rows_is_out"]
    np.testing.assert_array_equal(seen["y"], 3 * x)


def test_set_tensor_data_is_seen_by_later_tasks_and_waits_for_earlier_readers(drt, demo):
    x = np.ones((4, 4), np.float32)
    y = np.zeros_like(x)
    z = np.zeros_like(x)

    def orch(o):
        xt, yt, zt = o.tensor(x), o.tensor(y), o.tensor(z)
        o.submit_aiv(0, pto2.Args().input(xt).output_existing(yt).scalar(2.0))  # y = 2x
        # Waits for the scale task's read of x before writing x.
        o.set_tensor_data(xt, np.full((4, 4), 10, np.float32))
        o.set_tensor_data(xt, 7, index=(1, 2))  # an int converts to float32
        o.submit_aiv(0, pto2.Args().input(xt).output_existing(zt).scalar(3.0))  # z = 3x
    drt.run(orch)
    np.testing.assert_array_equal(y, np.full((4, 4), 2, np.float32))
    want = np.full((4, 4), 10, np.float32)
    want[1, 2] = 7
    np.testing.assert_array_equal(x, want)
    np.testing.assert_array_equal(z, 3 * want)


def test_tensor_data_of_integer_tensors(drt, demo):
    v = np.arange(6, dtype=np.int16).reshape(2, 3)
    b = np.zeros(3, np.uint64)
    seen = {}

    def orch(o):
        vt = o.tensor(v)
        o.set_tensor_data(vt, -300, index=(1, 0))
        o.set_tensor_data(vt, np.int8(-5), index=(0, 2))
        seen["v"] = o.get_tensor_data(vt)
        o.set_tensor_data(b, (1 << 64) - 1, index=1)  # a 1-D tensor takes an int index
        seen["b1"] = o.get_tensor_data(b, index=[1])
    drt.run(orch)
    np.testing.assert_array_equal(seen["v"], [[0, 1, -5], [-300, 4, 5]])
    assert seen["v"].dtype == np.int16
    assert seen["b1"] == (1 << 64) - 1 and seen["b1"].dtype == np.uint64
    np.testing.assert_array_equal(b, [0, (1 << 64) - 1, 0])


def bad_access(kind):
    def orch(o):
        xt = o.tensor(np.zeros((4, 4), np.float32))
        it = o.tensor(np.zeros(4, np.int8))
        {
            "out_shape": lambda: o.get_tensor_data(xt, np.zeros((4, 3), np.float32)),
            "out_dtype": lambda: o.get_tensor_data(xt, np.zeros((4, 4), np.float64)),
            "out_type": lambda: o.get_tensor_data(xt, [0.0] * 16),
            "out_readonly": lambda: o.get_tensor_data(
                xt, np.broadcast_to(np.zeros(1, np.float32), (4, 4))),
            "out_and_index": lambda: o.get_tensor_data(xt, np.zeros((4, 4), np.float32),
                                                       index=(0, 0)),
            "index_range": lambda: o.get_tensor_data(xt, index=(0, 4)),
            "index_negative": lambda: o.get_tensor_data(xt, index=(-1, 0)),
            "index_arity": lambda: o.get_tensor_data(xt, index=(0,)),
            "index_type": lambda: o.get_tensor_data(xt, index=(0, 1.0)),
            "values_shape": lambda: o.set_tensor_data(xt, np.zeros(16, np.float32)),
            "values_dtype": lambda: o.set_tensor_data(xt, np.zeros((4, 4), np.int32)),
            "values_type": lambda: o.set_tensor_data(xt, 1.0),
            "value_float_into_int": lambda: o.set_tensor_data(it, 1.5, index=0),
            "value_out_of_range": lambda: o.set_tensor_data(it, 128, index=0),
            "value_not_scalar": lambda: o.set_tensor_data(xt, [1.0], index=(0, 0)),
            "not_a_tensor": lambda: o.get_tensor_data("x"),
            "non_contiguous": lambda: o.get_tensor_data(np.zeros((4, 4), np.float32).T),
            "invalid_view": lambda: o.get_tensor_data(o.view(xt, [4, 4], [1, 0])),
            "manual_scope": lambda: _in_scope(o, pto2.SCOPE_MANUAL,
                                              lambda: o.get_tensor_data(xt)),
            "graph_scope": lambda: _in_scope(o, pto2.SCOPE_GRAPH,
                                             lambda: o.set_tensor_data(xt, 0.0, index=(0, 0))),
        }[kind]()
    return orch


def _in_scope(o, mode, fn):
    with o.scope(mode):
        fn()


@pytest.mark.parametrize("kind,words", [
    ("out_shape", "shape (4, 4)"), ("out_dtype", "dtype float64"), ("out_type", "numpy array"),
    ("out_readonly", "read-only"), ("out_and_index", "not both"),
    ("index_range", "index 4 of dimension 1 is out of range"),
    ("index_negative", "index -1 of dimension 0"), ("index_arity", "index must be 2 int"),
    ("index_type", "index must be 2 int"), ("values_shape", "values have shape (16,)"),
    ("values_dtype", "dtype int32"), ("values_type", "values must be a numpy array"),
    ("value_float_into_int", "1.5 is not a value of the tensor's dtype int8"),
    ("value_out_of_range", "128 is not a value"), ("value_not_scalar", "is not a value"),
    ("not_a_tensor", "expected a tensor"), ("non_contiguous", "C-contiguous"),
    ("invalid_view", "extents (4, 4) at offsets (1, 0) do not fit in a tensor of shape (4, 4)"),
    ("manual_scope", "get_tensor_data inside a MANUAL scope"),
    ("graph_scope", "set_tensor_data inside a GRAPH scope")])
def test_tensor_data_bad_arguments(drt, demo, kind, words):
    with pytest.raises(pto2.Error) as e:
        drt.run(bad_access(kind))
    assert e.value.code == drt.error_code == pto2.E_INVALID_ARGS
    assert words in e.value.message and e.value.message == drt.error_message
    assert "Orchestrator." in e.value.message and "pto2_" not in e.value.message


@pytest.mark.parametrize("n", [1, 5, 8])
def test_block_num_runs_n_blocks(drt, demo, n):
    v = np.zeros(8, np.int32)
    seen = {}

    def orch(o):
        vt = o.tensor(v)
        o.submit_aiv(3, pto2.Args().inout(vt).block_num(np.int64(n) if n == 8 else n))
        seen["v"] = o.get_tensor_data(vt)  # read back inside the orchestration
    drt.run(orch)
    want = [n] * n + [0] * (8 - n)
    np.testing.assert_array_equal(seen["v"], want)
    np.testing.assert_array_equal(v, want)


def test_block_num_default_and_too_many_blocks(drt, demo):
    v = np.zeros(4, np.int32)
    drt.run(lambda o: o.submit_aiv(3, pto2.Args().inout(o.tensor(v))))
    np.testing.assert_array_equal(v, [1, 0, 0, 0])  # one block
    with pytest.raises(pto2.Error) as e:  # block 4 finds no element: the kernel says so
        drt.run(lambda o: o.submit_aiv(3, pto2.Args().inout(o.tensor(v)).block_num(5)))
    assert e.value.code == pto2.E_KERNEL_FAILED and "fewer elements" in e.value.message


@pytest.mark.parametrize("n", [0, -1, pto2.MAX_BLOCK_NUM + 1, 2.0, "3", True, None])
def test_block_num_rejects_bad_n(n):
    with pytest.raises(pto2.Error) as e:
        pto2.Args().block_num(n)
    assert e.value.code == pto2.E_INVALID_ARGS
    assert f"Args.block_num: n must be an int in 1..32767, not {n!r}" == e.value.message
    assert pto2.Args().block_num(pto2.MAX_BLOCK_NUM) is not None


# ---- Hazards name the Python calls ---------------------------------------------

@pytest.mark.parametrize("writer_mode", [pto2.SCOPE_AUTO, pto2.SCOPE_AUTO_STRICT])
def test_hazard_advice_for_a_read_in_a_manual_scope(demo, writer_mode):
    """A MANUAL scope with a missing edge, then a writer of what it read in
    an AUTO (or strict AUTO) scope: the missing edge comes first, and the
    write-after-read's advice is an explicit producer or edge, not a strict
    scope (a MANUAL read is never recorded); following it removes it."""
    x = np.ones((16, 8), np.float32)
    y, z = np.zeros_like(x), np.full_like(x, 5.0)

    def orch(dep):
        def run(o):
            ids = []
            manual_orchestration(x, y, 2.0, dependency=False, ids=ids)(o)
            zt, xt = o.tensor(z), o.tensor(x)
            with o.scope(writer_mode):
                args = pto2.Args().input(zt).input(zt).output_existing(xt)
                if dep:
                    args = args.dep(pto2.TaskId(ids[0])).dep(pto2.TaskId(ids[1]))
                o.submit_aiv(1, args)
        return run

    with pto2.Runtime(block_dim=2, worker_threads=1, log_level=pto2.LOG_SILENT,
                      hazard_check=pto2.HAZARD_CHECK_WARN) as r:
        r.load_plugin(demo)
        r.run(orch(dep=False))
        hs = r.hazards()
        assert [h.kind for h in hs] == [pto2.HazardKind.RAW, pto2.HazardKind.WAR,
                                        pto2.HazardKind.WAR]
        assert "missing explicit edge (Orchestrator.add_dependency)" in hs[0].cause
        for h in hs[1:]:
            assert h.first.scope_mode == pto2.SCOPE_MANUAL
            assert h.cause.startswith("the read was in a MANUAL scope, whose reads are not "
                                      "recorded")
            assert "give the writer the reader as an explicit producer (Args.dep)" in h.cause
            assert "SCOPE_AUTO_STRICT" not in h.cause and "pto2_" not in h.cause
        r.run(orch(dep=True))  # the advice: the readers as explicit producers
        assert [h.kind for h in r.hazards()] == [pto2.HazardKind.RAW]


def test_hazards_of_python_orchestrations_name_python_calls(demo):
    x = np.arange(16 * 8, dtype=np.float32).reshape(16, 8)
    y = np.zeros_like(x)
    with pto2.Runtime(block_dim=2, worker_threads=1, log_level=pto2.LOG_SILENT,
                      hazard_check=pto2.HAZARD_CHECK_WARN) as r:
        r.load_plugin(demo)
        r.run(manual_orchestration(x, y, 2.0, dependency=False))  # MANUAL: missing edge
        (h,) = r.hazards()
        assert h.cause == ("missing explicit edge (Orchestrator.add_dependency) between two "
                           "tasks of one MANUAL scope")
        assert h.cause in str(h) and "pto2_" not in str(h)
        a, b, c = np.ones((4, 4), np.float32), np.zeros((4, 4), np.float32), np.ones((4, 4),
                                                                                   np.float32)
        r.run(war_orchestration(a, b, c, pto2.SCOPE_AUTO))  # AUTO: write-after-read
        (h,) = r.hazards()
        assert h.kind == pto2.HAZARD_WAR
        assert "submit both in pto2.SCOPE_AUTO_STRICT scopes, or give the writer the reader " \
               "as an explicit producer: Args.dep" in h.cause
        assert h.cause in str(h) and "PTO2_" not in str(h) and "pto2_" not in str(h)
    # A run the hazard fails: its error names the Python calls too.
    with pto2.Runtime(block_dim=2, worker_threads=1, log_level=pto2.LOG_SILENT,
                      hazard_check=pto2.HAZARD_CHECK_FAIL) as r:
        r.load_plugin(demo)
        with pytest.raises(pto2.Error) as e:
            r.run(manual_orchestration(x, y, 2.0, dependency=False))
        assert e.value.code == r.error_code == pto2.E_HAZARD
        assert e.value.message == r.error_message == str(r.hazards()[0])
        assert "(Orchestrator.add_dependency)" in e.value.message
        assert "pto2_" not in e.value.message
    # A blocking read the checker finds unordered: the orchestrator's side is
    # Orchestrator.get_tensor_data.  No worker thread: the writer runs only
    # when the orchestrator waits, after the read.
    with pto2.Runtime(block_dim=2, worker_threads=pto2.WORKERS_NONE, log_level=pto2.LOG_SILENT,
                      hazard_check=pto2.HAZARD_CHECK_WARN) as r:
        r.load_plugin(demo)
        z = np.ones((4, 4), np.float32)

        def orch(o):
            xt, zt = o.tensor(a), o.tensor(z)
            xm = pto2._ffi.Tensor.from_buffer_copy(xt)
            xm.manual_dep = True  # a write the TensorMap does not record
            o.submit_aiv(0, pto2.Args().input(zt).output_existing(xm).scalar(2.0))
            o.get_tensor_data(xt, index=(0, 0))
        r.run(orch)
        (h,) = r.hazards()
        assert "the orchestrator (Orchestrator.get_tensor_data" in str(h)
        assert "(for Orchestrator.set_tensor_data also their consumers)" in h.cause
        assert "pto2_" not in str(h)


def test_hazard_ids_and_kinds_print_as_the_text_does(demo):
    x = np.arange(16 * 8, dtype=np.float32).reshape(16, 8)
    y = np.zeros_like(x)
    with pto2.Runtime(block_dim=2, worker_threads=1, log_level=pto2.LOG_SILENT,
                      hazard_check=pto2.HAZARD_CHECK_WARN) as r:
        r.load_plugin(demo)
        r.run(manual_orchestration(x, y, 2.0, dependency=False))
        (h,) = r.hazards()
    # the kind: an IntEnum, equal to the ints, printed by name
    assert isinstance(h.kind, pto2.HazardKind) and isinstance(h.kind, int)
    assert h.kind == pto2.HAZARD_RAW == pto2.HazardKind.RAW == 0
    assert str(h.kind) == f"{h.kind}" == "RAW" and f"{h.kind:d}" == "0"
    assert [str(k) for k in pto2.HazardKind] == ["RAW", "WAR", "WAW"]
    # scope modes and argument kinds: IntEnums too, equal to the module constants
    assert isinstance(h.first.scope_mode, pto2.ScopeMode) and isinstance(h.first.arg_kind,
                                                                         pto2.ArgKind)
    assert h.first.scope_mode == pto2.SCOPE_MANUAL == pto2.ScopeMode.MANUAL == 1
    assert str(h.first.scope_mode) == "MANUAL" and f"{h.first.scope_mode:d}" == "1"
    assert h.first.arg_kind == pto2.ARG_OUTPUT == pto2.ArgKind.OUTPUT
    assert str(h.first.arg_kind) == "OUTPUT" and str(h.second.arg_kind) == "INPUT"
    assert pto2.HAZARD_WAR == 1 and pto2.HAZARD_WAW == 2
    # task ids: "ring:local" as in the text, for .owner and both sides
    first, second = h.first.task, h.second.task
    assert str(first) == f"{first.ring}:{first.local}"
    assert f"task {first} 'scale'" in str(h) and f"task {second} 'add'" in str(h)
    assert f"created by task {h.owner} (" in str(h) and h.owner == first
    assert repr(first) == f"TaskId({first})" and f"task={first}," in repr(h.first)
    # ints keep working: int(), ==, hash, hex
    assert int(first) == first.raw and first == first.raw and hash(first) == hash(first.raw)
    assert hex(first) == hex(first.raw) and second != first and first != "x"
    assert first.raw >> 56 == first.ring + 1 and first.local == first.raw & ((1 << 56) - 1)
    # the ids the submits return are TaskId too; an invalid one says so
    ids = []
    with pto2.Runtime(block_dim=2, worker_threads=1, log_level=pto2.LOG_SILENT) as r:
        r.load_plugin(demo)
        r.run(lambda o: ids.append(o.submit_aiv(2, pto2.Args())[0]))
    assert isinstance(ids[0], pto2.TaskId) and ids[0].valid and ":" in str(ids[0])
    invalid = pto2.TaskId((1 << 64) - 1)
    assert not invalid.valid and str(invalid) == "invalid" and repr(invalid) == "TaskId(invalid)"
    assert str(pto2.TaskId(0)) == "invalid"


def test_hazard_warnings_on_stderr_name_what_the_hazards_name(demo, capfd):
    x = np.arange(16 * 8, dtype=np.float32).reshape(16, 8)
    y = np.zeros_like(x)
    with pto2.Runtime(block_dim=2, worker_threads=1, log_level=pto2.LOG_WARN,
                      hazard_check=pto2.HAZARD_CHECK_WARN) as r:
        p = r.load_plugin(demo)
        capfd.readouterr()
        r.run(manual_orchestration(x, y, 2.0, dependency=False))  # Python: Python names
        (h,) = r.hazards()
        err = capfd.readouterr().err
        assert f"[pto2] WARN: hazard 1 of 1: {h}\n" in err
        assert "(Orchestrator.add_dependency)" in err and "pto2_add_dependency" not in err
        # a plugin's (C) run: the library's texts name the C calls again
        r.run(p, [np.ones((4, 4), np.float32), np.zeros((4, 4), np.float32)])
        assert r._names_set is False
        r.run(manual_orchestration(x, y, 2.0, dependency=False))  # Python again
        assert r._names_set is True
        err = capfd.readouterr().err
        assert f"[pto2] WARN: hazard 1 of 1: {r.hazards()[0]}\n" in err
        assert "(Orchestrator.add_dependency)" in err
    # FAIL: the error line on stderr and the message name the Python calls
    with pto2.Runtime(block_dim=2, worker_threads=1, log_level=pto2.LOG_ERROR,
                      hazard_check=pto2.HAZARD_CHECK_FAIL) as r:
        r.load_plugin(demo)
        with pytest.raises(pto2.Error) as e:
            r.run(manual_orchestration(x, y, 2.0, dependency=False))
        err = capfd.readouterr().err
        assert f"[pto2] ERROR: {e.value.message} (PTO2_E_HAZARD)" in err
        assert "(Orchestrator.add_dependency)" in err and "pto2_" not in err
        # two hazards: the message points at Runtime.hazards() for the rest

        def two_readers_unordered(o):
            with o.scope(pto2.SCOPE_MANUAL):
                _, (t,) = o.submit_aiv_manual(0, pto2.Args().input(o.tensor(x))
                                              .output(x.shape).scalar(2.0))
                for _ in range(2):
                    o.submit_aiv_manual(0, pto2.Args().input(t).output(x.shape).scalar(2.0))
        with pytest.raises(pto2.Error) as e:
            r.run(two_readers_unordered)
        assert len(r.hazards()) == 2
        assert e.value.message == f"{r.hazards()[0]} (and more: Runtime.hazards() lists them all)"


def test_hazard_names_of_c_orchestrations_stay_c():
    text = ("read-after-write hazard ...; likely cause: missing explicit edge "
            "(pto2_add_dependency) in a GRAPH scope")
    assert pto2._python_names(text).endswith("(Orchestrator.add_dependency) in a GRAPH scope")
    assert pto2._python_names("pto2_add_dependency_x") == "pto2_add_dependency_x"  # whole names
    # A plugin's run leaves the texts alone: the names are what its C code calls.
    with pto2.Runtime(block_dim=2, worker_threads=1, log_level=pto2.LOG_SILENT) as r:
        assert r._python_run is False
        r.run(lambda o: None)
        assert r._python_run is True
        demo = r.load_plugin(pto2.plugin_path("pto2_demo"))
        x = np.ones((4, 4), np.float32)
        r.run(demo, [x, np.zeros_like(x)])
        assert r._python_run is False


# ---- The package's own argument checks are E_INVALID_ARGS ----------------------

@pytest.mark.parametrize("kind,base,words", [
    ("view", ValueError, "view of a 2-D tensor needs 2 extents"),
    ("scope", ValueError, "unknown scope mode 9"),
    ("array_dtype", TypeError, "numpy dtype complex64 has no pto2 dtype"),
    ("array_layout", ValueError, "must be C-contiguous"),
    ("scalar_type", TypeError, "unsupported scalar 'x'"),
    ("scalar_range", OverflowError, "does not fit in 64 bits")])
def test_argument_checks_in_orchestration_fail_the_run_with_invalid_args(drt, demo, kind, base,
                                                                          words):
    def orch(o):
        xt = o.tensor(np.zeros((4, 4), np.float32))
        {
            "view": lambda: o.view(xt, [4], [0]),
            "scope": lambda: o.scope(9),
            "array_dtype": lambda: pto2.Args().input(np.zeros(4, np.complex64)),
            "array_layout": lambda: o.tensor(np.zeros((4, 4), np.float32).T),
            "scalar_type": lambda: pto2.Args().scalar("x"),
            "scalar_range": lambda: pto2.Args().scalar(1 << 64),
        }[kind]()
    with pytest.raises(pto2.Error) as e:
        drt.run(orch)
    assert isinstance(e.value, base)  # still the Python exception type it always was
    assert e.value.code == drt.error_code == pto2.E_INVALID_ARGS
    assert words in e.value.message and e.value.message == drt.error_message


def test_close_inside_a_run_keeps_the_runtime_open():
    # The library refuses to destroy a runtime inside its run (the run fails
    # with E_BUSY); the Python object must keep its handle, not leak it.
    with pto2.Runtime(worker_threads=1, log_level=pto2.LOG_SILENT) as rt:
        def orch(o):
            with pytest.raises(pto2.Error) as e:
                rt.close()
            assert e.value.code == pto2.E_BUSY
        with pytest.raises(pto2.Error) as e:
            rt.run(orch)
        assert e.value.code == rt.error_code == pto2.E_BUSY
        rt.run(lambda o: None)  # still open and usable
    with pytest.raises(pto2.Error):
        rt.error_code  # closed by the with block


def test_import_without_the_library_does_not_hang(tmp_path):
    # The source tree's package has no bundled library: with no
    # PTO2_LIBRARY it searches a few fixed places and either loads an
    # installed libpto2 or raises ImportError at once (it once walked all
    # of /usr/lib recursively, for minutes).
    import os
    import subprocess
    import sys
    src = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir)
    env = {k: v for k, v in os.environ.items() if k != "PTO2_LIBRARY"}
    env["PYTHONPATH"] = os.path.abspath(src)
    script = ("try:\n    import pto2\n    print('loaded', pto2.__file__)\n"
              "except ImportError as e:\n    print('import error', e)\n")
    r = subprocess.run([sys.executable, "-c", script], env=env, cwd=tmp_path,
                       capture_output=True, text=True, timeout=60)
    assert "loaded" in r.stdout or "import error" in r.stdout, r.stdout + r.stderr
