"""pto2 — Python bindings for the pto2 task-graph runtime.

    import numpy as np, pto2

    rt = pto2.Runtime(block_dim=4, worker_threads=2)
    pa = rt.load_plugin(pto2.plugin_path("pto2_pa"))     # kernels + orchestration
    stats = rt.run(pa, [query, key_cache, value_cache, block_table, context_lens, out],
                   scalars=[0, 0])                       # numpy arrays, zero-copy
    print(stats.tasks, stats.elapsed_ns)

Runs execute compiled orchestrations from plugins (shared libraries built
with the PTO2_PLUGIN macro of pto2/plugin.h).  numpy arrays are passed as
external tensors over their own memory (no copy): kernels read and write the
arrays in place.  A failed run raises pto2.Error with the runtime's message;
the runtime stays usable.

The library is found through $PTO2_LIBRARY (a path to libpto2.so), then the
copy bundled by `pip install` (pto2/_lib), pkg-config, the dynamic linker's
search path, /usr/local/lib and /usr/lib.
"""
import ctypes
import enum
import operator
import os
import re
import sys

from . import _ffi

_lib, _lib_path = _ffi.load()
_lib_path = _ffi.loaded_path(_lib_path)

__version__ = _lib.pto2_version().decode()
library_path = _lib_path

# Error codes: every PTO2_E_* of the library, as module constants.
OK = 0
_ERROR_NAMES = {}
for _code in range(-1, -128, -1):
    _name = _lib.pto2_err_name(_code).decode()
    if _name == "PTO2_E_UNKNOWN":
        continue
    _ERROR_NAMES[_code] = _name
    globals()[_name[len("PTO2_"):]] = _code  # pto2.E_INVALID_ARGS, ...

class _NamedInt(enum.IntEnum):
    """An int whose str() and plain format are its name (f"{k:d}" the int)."""

    def __str__(self):
        return self.name

    def __format__(self, spec):
        return format(self.name, spec) if not spec else int.__format__(self, spec)


class ScopeMode(_NamedInt):
    """Scope modes (pto2_scope_mode): Orchestrator.scope(), HazardAccess.scope_mode."""
    AUTO = 0
    MANUAL = 1
    GRAPH = 2
    AUTO_STRICT = 3


SCOPE_AUTO, SCOPE_MANUAL, SCOPE_GRAPH, SCOPE_AUTO_STRICT = ScopeMode
_SCOPE_NAMES = {m: m.name for m in ScopeMode}
# Log levels.
LOG_DEFAULT, LOG_SILENT, LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG = 0, 1, 2, 3, 4, 5
# worker_threads=WORKERS_NONE: no worker thread, the calling thread runs every
# task (PTO2_WORKERS_NONE; 0 selects the default).
WORKERS_NONE = 0xFFFFFFFF
# Runtime(hazard_check=...) (pto2_hazard_check): DEFAULT reads $PTO2_CHECK;
# FAIL fails a run with a hazard (E_HAZARD), WARN logs and lists them.
HAZARD_CHECK_DEFAULT, HAZARD_CHECK_OFF, HAZARD_CHECK_FAIL, HAZARD_CHECK_WARN = 0, 1, 2, 3


class HazardKind(_NamedInt):
    """Hazard.kind (pto2_hazard_kind): an int (HAZARD_RAW == 0 ...) whose
    str() is its name."""
    RAW = 0  # the later access reads what the earlier one writes
    WAR = 1  # the later access overwrites what the earlier one reads
    WAW = 2  # both write


HAZARD_RAW, HAZARD_WAR, HAZARD_WAW = HazardKind.RAW, HazardKind.WAR, HazardKind.WAW
# Task ids (pto2_task_id): what the submits return; str() is "ring:local".
TaskId = _ffi.TaskId
# The unused lane of Orchestrator.submit_task (PTO2_NO_KERNEL).
NO_KERNEL = -1
class ArgKind(_NamedInt):
    """HazardAccess.arg_kind (pto2_arg_kind)."""
    INPUT = 0
    OUTPUT = 1
    INOUT = 2
    OUTPUT_EXISTING = 3
    NO_DEP = 4


ARG_INPUT, ARG_OUTPUT, ARG_INOUT, ARG_OUTPUT_EXISTING, ARG_NO_DEP = ArgKind


def _as(enum_type, value):
    """value as a member of enum_type, or the plain int if it names none."""
    try:
        return enum_type(value)
    except ValueError:
        return value

# pto2_dtype numbering (part of the ABI).
FLOAT32, FLOAT16, INT32, INT16, INT8, UINT8, BFLOAT16, INT64, UINT64 = range(9)
_DTYPE_BY_NUMPY = {
    "float32": FLOAT32, "float16": FLOAT16, "int32": INT32, "int16": INT16, "int8": INT8,
    "uint8": UINT8, "int64": INT64, "uint64": UINT64,
}
# The numpy dtype of each pto2 dtype's elements (Orchestrator.get_tensor_data
# / set_tensor_data); numpy has no bfloat16: BFLOAT16 elements are their raw
# uint16 bits.
_NUMPY_BY_DTYPE = {v: k for k, v in _DTYPE_BY_NUMPY.items()}
_NUMPY_BY_DTYPE[BFLOAT16] = "uint16"
# Args.block_num: 1..32767 (pto2_arg_set_block_num).
MAX_BLOCK_NUM = 32767


class Error(RuntimeError):
    """A pto2 error: .code (negative PTO2_E_* value), .name, and the message.

    Raised inside a Python orchestration function (by the binding's checks or
    by your own code) and not caught there, it fails the run with its code
    and message (pto2_fail_run), so Runtime.error_code / error_message say
    the same as the exception Runtime.run raises."""

    def __init__(self, code, message):
        self.code = code
        self.name = _ERROR_NAMES.get(code, "PTO2_E_UNKNOWN")
        self.message = message
        super().__init__(f"{self.name}: {message}" if message else self.name)


class ArgumentError(Error, ValueError):
    """A bad argument the package itself rejects (an array it cannot pass as
    a tensor, a view with the wrong number of extents, an unknown scope
    mode): a pto2.Error with code E_INVALID_ARGS that is also a ValueError,
    so that inside a Python orchestration it fails the run with
    E_INVALID_ARGS, as the C calls do.  ArgumentTypeError and
    ArgumentOverflowError are the same as a TypeError and an
    OverflowError."""

    def __init__(self, message):
        super().__init__(E_INVALID_ARGS, message)


class ArgumentTypeError(Error, TypeError):
    """ArgumentError for an argument of the wrong type (also a TypeError)."""

    def __init__(self, message):
        super().__init__(E_INVALID_ARGS, message)


class ArgumentOverflowError(Error, OverflowError):
    """ArgumentError for a number out of range (also an OverflowError)."""

    def __init__(self, message):
        super().__init__(E_INVALID_ARGS, message)


def strerror(code):
    return _lib.pto2_strerror(code).decode()


class RunStats:
    """The statistics of one run (pto2_run_stats)."""

    __slots__ = ("tasks", "edges", "orch_ns", "elapsed_ns", "ring_task_high_water",
                 "ring_heap_high_water", "ring_dep_high_water", "hazard_check_bytes")

    def __init__(self, st):
        self.tasks = st.tasks
        self.edges = st.edges
        self.orch_ns = st.orch_ns
        self.elapsed_ns = st.elapsed_ns
        self.ring_task_high_water = list(st.ring_task_high_water)
        self.ring_heap_high_water = list(st.ring_heap_high_water)
        self.ring_dep_high_water = list(st.ring_dep_high_water)
        self.hazard_check_bytes = st.hazard_check_bytes

    def as_dict(self):
        return {k: getattr(self, k) for k in self.__slots__}

    def __repr__(self):
        return (f"RunStats(tasks={self.tasks}, edges={self.edges}, orch_ns={self.orch_ns}, "
                f"elapsed_ns={self.elapsed_ns})")


def _dtype_of(array):
    name = str(array.dtype)
    if name not in _DTYPE_BY_NUMPY:
        raise ArgumentTypeError(f"pto2: numpy dtype {name} has no pto2 dtype "
                                f"(supported: {', '.join(sorted(_DTYPE_BY_NUMPY))})")
    return _DTYPE_BY_NUMPY[name]


def tensor(array):
    """An external pto2 tensor over a numpy array's memory (zero-copy).

    The array must be C-contiguous with 1..5 dimensions and stay alive (and
    unmoved) while a run uses the tensor; Runtime.run keeps it alive for you.
    """
    iface = getattr(array, "__array_interface__", None)
    if iface is None:
        raise ArgumentTypeError("pto2: expected a numpy array")
    if not array.flags["C_CONTIGUOUS"]:
        raise ArgumentError("pto2: the array must be C-contiguous (use "
                            "numpy.ascontiguousarray; a copy would not be written back)")
    if not 1 <= array.ndim <= _ffi.MAX_DIMS:
        raise ArgumentError(f"pto2: arrays of 1..{_ffi.MAX_DIMS} dimensions, not "
                            f"{array.ndim}")
    shape = (ctypes.c_uint32 * array.ndim)(*array.shape)
    t = _lib.pto2_tensor_external(ctypes.c_void_p(iface["data"][0]), shape, array.ndim,
                                  _dtype_of(array))
    if not _lib.pto2_tensor_is_valid(ctypes.byref(t)):
        raise ArgumentError(f"pto2: cannot make a tensor of shape {array.shape} "
                            "(empty, or 2^48 bytes or more)")
    return t


def _scalar_bits(v):
    """Scalars travel as uint64 bit patterns: int -> two's complement int64,
    float -> float32 bits, numpy scalars -> their own bits (low bytes)."""
    try:
        import numpy as np
    except ImportError:  # pragma: no cover
        np = None
    if np is not None and isinstance(v, np.generic):
        raw = v.tobytes()
        return int.from_bytes(raw.ljust(8, b"\0"), "little")
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, int):
        if not -(1 << 63) <= v < (1 << 64):
            raise ArgumentOverflowError(f"pto2: scalar {v} does not fit in 64 bits")
        return v & ((1 << 64) - 1)
    if isinstance(v, float):
        return int.from_bytes(ctypes.c_float(v), "little")
    raise ArgumentTypeError(f"pto2: unsupported scalar {v!r} (int, float or a numpy scalar)")


class Args:
    """The arguments of one task submitted from Python (tensors first, then
    scalars), built through the library's exported pto2_arg functions."""

    def __init__(self):
        self._p = _lib.pto2_arg_create()
        if not self._p:
            raise MemoryError("pto2_arg_create")
        self._keep = []  # tensors and create-infos must outlive the submit
        self._outputs = 0

    def __del__(self):
        p, self._p = getattr(self, "_p", None), None
        if p:
            _lib.pto2_arg_destroy(p)

    def _tensor(self, t):
        if not isinstance(t, _ffi.Tensor):
            self._keep.append(t)  # the array itself
            t = tensor(t)
        self._keep.append(t)
        return ctypes.byref(t)

    def input(self, t):
        _lib.pto2_arg_add_input(self._p, self._tensor(t))
        return self

    def inout(self, t):
        _lib.pto2_arg_add_inout(self._p, self._tensor(t))
        return self

    def output_existing(self, t):
        _lib.pto2_arg_add_output_existing(self._p, self._tensor(t))
        return self

    def no_dep(self, t):
        _lib.pto2_arg_add_no_dep(self._p, self._tensor(t))
        return self

    def output(self, shape, dtype=FLOAT32):
        """A buffer the runtime creates; Orchestrator.submit_* returns it."""
        dims = (ctypes.c_uint32 * len(shape))(*shape)
        ci = _lib.pto2_create_info_make(dims, len(shape), dtype)
        self._keep.append(ci)
        self._outputs += 1
        _lib.pto2_arg_add_output(self._p, ctypes.byref(ci))
        return self

    def scalar(self, v):
        _lib.pto2_arg_add_scalar(self._p, _scalar_bits(v))
        return self

    def dep(self, task_id):
        _lib.pto2_arg_add_dep(self._p, task_id)
        return self

    def block_num(self, n):
        """SPMD (pto2_arg_set_block_num): the task's kernels run as `n`
        independent blocks, 1..MAX_BLOCK_NUM (32767); each invocation sees
        its block_idx and the block_num in its pto2_kernel_ctx.  Another n
        raises pto2.Error (E_INVALID_ARGS)."""
        try:
            v = None if isinstance(n, bool) else operator.index(n)
        except TypeError:
            v = None
        if v is None or not 1 <= v <= MAX_BLOCK_NUM:
            raise Error(E_INVALID_ARGS, f"Args.block_num: n must be an int in "
                        f"1..{MAX_BLOCK_NUM}, not {n!r}")
        _lib.pto2_arg_set_block_num(self._p, v)
        return self


class Orchestrator:
    """What a Python orchestration function gets: submits tasks one by one.
    Valid only during Runtime.run(fn).

    Inside `with o.scope(pto2.SCOPE_MANUAL):` tasks are submitted with the
    *_manual methods and ordered with add_dependency (or Args.dep); every
    other scope takes submit_aiv / submit_aic / submit_task.  The wrong kind
    raises pto2.Error (E_INVALID_ARGS), which fails the run with that code.

    get_tensor_data / set_tensor_data read and write a tensor's elements
    from the orchestration, waiting for the tasks that produce (and, for a
    write, use) them."""

    def __init__(self, rt):
        self._rt = rt
        self._keep = []  # numpy arrays used by this run's tensors
        self._modes = []  # the modes of the open scopes, innermost last

    def _check_kind(self, method, manual):
        in_manual = bool(self._modes) and self._modes[-1] == SCOPE_MANUAL
        if in_manual and not manual:
            raise Error(E_INVALID_ARGS, f"Orchestrator.{method} inside a MANUAL scope: use "
                        f"Orchestrator.{method}_manual (and add_dependency for the order)")
        if manual and not in_manual:
            where = _SCOPE_NAMES.get(self._modes[-1], "an") if self._modes else "the root"
            raise Error(E_INVALID_ARGS, f"Orchestrator.{method} outside a MANUAL scope "
                        f"(in {where} scope): open one with "
                        f"Orchestrator.scope(pto2.SCOPE_MANUAL), or use "
                        f"Orchestrator.{method[:-len('_manual')]}")

    def tensor(self, array):
        """An external tensor over `array`, kept alive until the run ends."""
        self._keep.append(array)
        return tensor(array)

    def view(self, t, shape, offsets):
        """A view of `t` (pto2_tensor_view): `shape` extents from `offsets`.
        Raises ArgumentError if it does not fit in `t`."""
        if len(shape) != t.ndims or len(offsets) != t.ndims:
            raise ArgumentError(f"pto2: view of a {t.ndims}-D tensor needs {t.ndims} extents "
                                "and offsets")
        dims = (ctypes.c_uint32 * len(shape))(*shape)
        offs = (ctypes.c_uint32 * len(offsets))(*offsets)
        v = _lib.pto2_tensor_view(ctypes.byref(t), dims, offs)
        if not _lib.pto2_tensor_is_valid(ctypes.byref(v)):
            have = tuple(t.shapes[d] for d in range(t.ndims))
            raise ArgumentError(f"pto2: Orchestrator.view: extents {tuple(shape)} at offsets "
                                f"{tuple(offsets)} do not fit in a tensor of shape {have} "
                                "(each extent 1 or more, offset + extent within the shape)")
        return v

    def _submit(self, fn, kernel, args):
        tid = fn(self._rt, kernel, args._p)
        outs = []
        for i in range(args._outputs):
            p = _lib.pto2_arg_output(args._p, i)
            if not p:  # the submit failed
                break
            outs.append(_ffi.Tensor.from_buffer_copy(p.contents))
        self._keep.append(args)
        return tid, outs

    def submit_aiv(self, kernel, args):
        """Returns (task id, [created output tensors]); an invalid id once
        the run has failed."""
        self._check_kind("submit_aiv", False)
        return self._submit(_lib.pto2_submit_aiv, kernel, args)

    def submit_aic(self, kernel, args):
        self._check_kind("submit_aic", False)
        return self._submit(_lib.pto2_submit_aic, kernel, args)

    def submit_task(self, args, aic=NO_KERNEL, aiv0=NO_KERNEL, aiv1=NO_KERNEL):
        """A task whose lanes run the given kernels (pto2_submit_task)."""
        self._check_kind("submit_task", False)
        mk = _ffi.MixedKernels(aic, aiv0, aiv1)
        return self._submit(lambda rt, _k, a: _lib.pto2_submit_task(rt, mk, a), None, args)

    def submit_aiv_manual(self, kernel, args):
        """submit_aiv inside a MANUAL scope (pto2_submit_aiv_manual): the
        task's dependencies on tasks of the scope come only from
        add_dependency and Args.dep; it is published when the scope ends
        (at once if its Args carry a dep)."""
        self._check_kind("submit_aiv_manual", True)
        return self._submit(_lib.pto2_submit_aiv_manual, kernel, args)

    def submit_aic_manual(self, kernel, args):
        self._check_kind("submit_aic_manual", True)
        return self._submit(_lib.pto2_submit_aic_manual, kernel, args)

    def submit_task_manual(self, args, aic=NO_KERNEL, aiv0=NO_KERNEL, aiv1=NO_KERNEL):
        self._check_kind("submit_task_manual", True)
        mk = _ffi.MixedKernels(aic, aiv0, aiv1)
        return self._submit(lambda rt, _k, a: _lib.pto2_submit_task_manual(rt, mk, a), None,
                            args)

    def add_dependency(self, producer, consumer):
        """Makes task `consumer` wait for task `producer` (pto2_add_dependency).
        In a MANUAL scope both are tasks of the scope and the consumer is not
        yet published.  Returns 0, or the run's error code once it failed."""
        return _lib.pto2_add_dependency(self._rt, producer, consumer)

    def is_fatal(self):
        return _lib.pto2_is_fatal(self._rt)

    # Blocking data access (pto2_get_tensor_data / pto2_set_tensor_data).

    def _access_target(self, method, t):
        """(tensor, shape, numpy dtype) of a data access's tensor, checked."""
        import numpy as np
        if self._modes and self._modes[-1] in (SCOPE_MANUAL, SCOPE_GRAPH):
            raise Error(E_INVALID_ARGS, f"Orchestrator.{method} inside a "
                        f"{_SCOPE_NAMES[self._modes[-1]]} scope: blocking data access is "
                        "supported only in AUTO and AUTO_STRICT scopes; call it after the "
                        "scope ends")
        if not isinstance(t, _ffi.Tensor):
            if not hasattr(t, "__array_interface__"):
                raise Error(E_INVALID_ARGS, f"Orchestrator.{method}: expected a tensor "
                            "(Orchestrator.tensor, Orchestrator.view, a submit's output) or "
                            f"a numpy array, not {type(t).__name__}")
            try:
                t = self.tensor(t)
            except Error as e:
                raise Error(E_INVALID_ARGS, f"Orchestrator.{method}: {e.message}") from None
        if not _lib.pto2_tensor_is_valid(ctypes.byref(t)):
            raise Error(E_INVALID_ARGS, f"Orchestrator.{method}: not a valid tensor (the "
                        "result of a failed Orchestrator.view?)")
        shape = tuple(t.shapes[d] for d in range(t.ndims))
        return t, shape, np.dtype(_NUMPY_BY_DTYPE[t.dtype])

    @staticmethod
    def _access_index(method, shape, index):
        """`index` (a tuple of ints, or an int for a 1-D tensor) as a
        ctypes uint32 array, checked against the view's shape."""
        if len(shape) == 1 and not isinstance(index, (tuple, list)):
            index = (index,)
        try:
            idx = tuple(None if isinstance(i, bool) else operator.index(i) for i in index)
        except TypeError:
            idx = (None,)
        if None in idx or len(idx) != len(shape):
            raise Error(E_INVALID_ARGS, f"Orchestrator.{method}: index must be {len(shape)} "
                        f"int(s) for a tensor of shape {shape}, not {index!r}")
        for d, (i, n) in enumerate(zip(idx, shape)):
            if not 0 <= i < n:
                raise Error(E_INVALID_ARGS, f"Orchestrator.{method}: index {i} of dimension "
                            f"{d} is out of range (shape {shape})")
        return (ctypes.c_uint32 * len(shape))(*idx)

    def _access_failed(self, rc):
        return Error(rc, _lib.pto2_error_message(self._rt).decode(errors="replace"))

    def _get_bits(self, t, idx):
        bits = ctypes.c_uint64()
        rc = _lib.pto2_get_tensor_data(self._rt, ctypes.byref(t), idx, ctypes.byref(bits))
        if rc:
            raise self._access_failed(rc)
        return bits.value

    def _set_bits(self, t, idx, bits):
        rc = _lib.pto2_set_tensor_data(self._rt, ctypes.byref(t), idx, bits)
        if rc:
            raise self._access_failed(rc)

    def get_tensor_data(self, t, out=None, index=None):
        """Reads a tensor's elements once the tasks that write them have
        finished (pto2_get_tensor_data: the tensor's creator and every
        earlier task that wrote an overlapping region).

        `t` is a tensor (Orchestrator.tensor, Orchestrator.view, a submit's
        output) or a numpy array.  With `index` (a tuple of ints, or an int
        for a 1-D tensor) returns that element as a numpy scalar; otherwise
        fills `out` (a writable numpy array of the view's shape and dtype;
        allocated when None) with the whole view and returns it.  dtypes are
        the numpy ones of the tensor (BFLOAT16: its raw uint16 bits).  It is
        one blocking access per element: for small tensors; move bulk data
        with kernels.  Only in AUTO and AUTO_STRICT scopes.  Bad arguments
        raise pto2.Error (E_INVALID_ARGS)."""
        import numpy as np
        m = "get_tensor_data"
        t, shape, dtype = self._access_target(m, t)
        if index is not None:
            if out is not None:
                raise Error(E_INVALID_ARGS, f"Orchestrator.{m}: give out or index, not both")
            idx = self._access_index(m, shape, index)
            raw = self._get_bits(t, idx).to_bytes(8, sys.byteorder)[:dtype.itemsize]
            return np.frombuffer(raw, dtype)[0]
        if out is None:
            out = np.empty(shape, dtype)
        elif not isinstance(out, np.ndarray):
            raise Error(E_INVALID_ARGS, f"Orchestrator.{m}: out must be a numpy array, not "
                        f"{type(out).__name__}")
        elif out.shape != shape or out.dtype != dtype:
            raise Error(E_INVALID_ARGS, f"Orchestrator.{m}: out has shape {out.shape} and "
                        f"dtype {out.dtype}; the tensor has shape {shape} and dtype {dtype}")
        elif not out.flags.writeable:
            raise Error(E_INVALID_ARGS, f"Orchestrator.{m}: out is read-only")
        # Each element's bits arrive in the first bytes (in memory order) of
        # a uint64, as the C call copies them.
        bits = np.empty(out.size, np.uint64)
        idx = (ctypes.c_uint32 * len(shape))()
        for n, pos in enumerate(np.ndindex(*shape)):
            idx[:] = pos
            bits[n] = self._get_bits(t, idx)
        elems = np.ascontiguousarray(bits.view(np.uint8).reshape(-1, 8)[:, :dtype.itemsize])
        out[...] = elems.view(dtype).reshape(shape)
        return out

    def set_tensor_data(self, t, values, index=None):
        """Writes a tensor's elements once every earlier task that writes or
        reads them has finished (pto2_set_tensor_data); later tasks see the
        new values.

        `t` as for get_tensor_data.  With `index`, `values` is one value (a
        Python or numpy scalar that numpy casts to the tensor's dtype within
        its kind: no float into an int tensor, no int outside an int dtype's
        range); otherwise a numpy array of the view's shape and dtype.  One blocking access per
        element; only in AUTO and AUTO_STRICT scopes.  Bad arguments raise
        pto2.Error (E_INVALID_ARGS)."""
        import numpy as np
        m = "set_tensor_data"
        t, shape, dtype = self._access_target(m, t)
        if index is not None:
            idx = self._access_index(m, shape, index)
            raw = self._element(m, values, dtype).tobytes().ljust(8, b"\0")
            self._set_bits(t, idx, int.from_bytes(raw, sys.byteorder))
            return
        if not isinstance(values, np.ndarray):
            raise Error(E_INVALID_ARGS, f"Orchestrator.{m}: values must be a numpy array of "
                        f"shape {shape} and dtype {dtype} (or give index= for one element), "
                        f"not {type(values).__name__}")
        if values.shape != shape or values.dtype != dtype:
            raise Error(E_INVALID_ARGS, f"Orchestrator.{m}: values have shape {values.shape} "
                        f"and dtype {values.dtype}; the tensor has shape {shape} and dtype "
                        f"{dtype}")
        raw = np.zeros((values.size, 8), np.uint8)
        raw[:, :dtype.itemsize] = np.ascontiguousarray(values).reshape(-1).view(np.uint8) \
            .reshape(-1, dtype.itemsize)
        bits = raw.view(np.uint64).reshape(-1)
        idx = (ctypes.c_uint32 * len(shape))()
        for n, pos in enumerate(np.ndindex(*shape)):
            idx[:] = pos
            self._set_bits(t, idx, int(bits[n]))

    @staticmethod
    def _element(method, value, dtype):
        """`value` as a numpy scalar of `dtype`, or pto2.Error."""
        import numpy as np
        try:
            a = np.asarray(value)
        except (TypeError, ValueError, OverflowError):
            a = None
        bad = a is None or a.shape != () or a.dtype.kind not in "biuf" or \
            not np.can_cast(a.dtype, dtype, "same_kind")
        if not bad and dtype.kind in "iu" and a.dtype.kind in "biu":
            info = np.iinfo(dtype)
            bad = not info.min <= int(a) <= info.max
        if bad:
            raise Error(E_INVALID_ARGS, f"Orchestrator.{method}: {value!r} is not a value of "
                        f"the tensor's dtype {dtype}")
        return a.astype(dtype)

    def scope(self, mode=SCOPE_AUTO):
        """A scope (pto2_scope_begin/end) as a context manager:
        SCOPE_AUTO, SCOPE_MANUAL, SCOPE_GRAPH or SCOPE_AUTO_STRICT."""
        if mode not in _SCOPE_NAMES:
            raise ArgumentError(f"pto2: unknown scope mode {mode!r} (pto2.SCOPE_AUTO, "
                                "SCOPE_MANUAL, SCOPE_GRAPH or SCOPE_AUTO_STRICT)")
        return _Scope(self, mode)


class _Scope:
    def __init__(self, orch, mode):
        self._orch, self._mode = orch, mode

    def __enter__(self):
        _lib.pto2_scope_begin(self._orch._rt, self._mode)
        self._orch._modes.append(self._mode)
        return self

    def __exit__(self, *exc):
        self._orch._modes.pop()
        _lib.pto2_scope_end(self._orch._rt)
        return False


class HazardAccess:
    """One side of a hazard (pto2_hazard_access): a task's tensor argument,
    or a blocking data access of the orchestrator (task invalid).  .task is
    a TaskId (str() "ring:local" as in the hazard's text; int() its raw
    value)."""

    __slots__ = ("task", "kernel", "scope_mode", "scope_depth", "scope_seq", "arg_kind",
                 "arg_index", "manual_dep", "offsets", "shapes", "raw_shapes")

    def __init__(self, a):
        self.task = TaskId(a.task.raw)  # a copy: the hazard's memory lives one run
        self.kernel = a.kernel.decode(errors="replace")
        self.scope_mode = _as(ScopeMode, a.scope_mode)
        self.scope_depth = a.scope_depth
        self.scope_seq = a.scope_seq
        self.arg_kind = _as(ArgKind, a.arg_kind)
        self.arg_index = a.arg_index
        self.manual_dep = a.manual_dep
        n = a.ndims
        self.offsets = tuple(a.offsets[:n])
        self.shapes = tuple(a.shapes[:n])
        self.raw_shapes = tuple(a.raw_shapes[:n])

    def __repr__(self):
        return (f"HazardAccess(task={self.task}, kernel={self.kernel!r}, "
                f"scope={_SCOPE_NAMES.get(self.scope_mode, self.scope_mode)}, "
                f"arg_index={self.arg_index})")


# The C names in the checker's texts (pto2_hazard.cause, pto2_hazard_format)
# and what a Python orchestration calls instead; longer keys first.  The
# library applies the same pairs to its own texts of a Python orchestration's
# run (pto2_hazard_set_names: the PTO2_CHECK=warn lines on stderr, the
# E_HAZARD message), the same way: whole words, the first pair that matches.
_PYTHON_NAMES = [
    ("pto2_hazard_count/pto2_hazard_get list", "Runtime.hazards() lists"),
    ("pto2_add_dependency", "Orchestrator.add_dependency"),
    ("pto2_get_tensor_data", "Orchestrator.get_tensor_data"),
    ("pto2_set_tensor_data", "Orchestrator.set_tensor_data"),
    ("pto2_arg_add_dep", "Args.dep"),
    ("PTO2_SCOPE_AUTO_STRICT", "pto2.SCOPE_AUTO_STRICT"),
    ("PTO2_SCOPE_MANUAL", "pto2.SCOPE_MANUAL"),
    ("PTO2_SCOPE_GRAPH", "pto2.SCOPE_GRAPH"),
    ("PTO2_SCOPE_AUTO", "pto2.SCOPE_AUTO"),
    ("add an explicit producer", "add an explicit producer (Args.dep)"),
    ("read with INOUT", "read with INOUT (Args.inout)"),
    ("NO_DEP argument", "NO_DEP argument (Args.no_dep)"),
]
_PYTHON_NAMES_RE = re.compile("|".join(r"\b" + re.escape(c) + r"\b" for c, _ in _PYTHON_NAMES))
_PYTHON_NAME_PAIRS = (ctypes.c_char_p * (2 * len(_PYTHON_NAMES)))(
    *[w.encode() for pair in _PYTHON_NAMES for w in pair])


def _python_names(text):
    """`text` of the hazard checker with the C API's names replaced by the
    Python package's (Orchestrator.add_dependency for pto2_add_dependency,
    ...)."""
    names = dict(_PYTHON_NAMES)
    return _PYTHON_NAMES_RE.sub(lambda m: names[m.group(0)], text)


class Hazard:
    """A hazard found by the checker (pto2_hazard): .kind (a HazardKind:
    HazardKind.RAW, WAR, WAW, which print as RAW, WAR, WAW; the module's
    HAZARD_RAW, _WAR, _WAW are the same members), .possible, .addr,
    .nbytes, .owner, .first and .second (HazardAccess, in program order),
    .cause; str() is the one-line description of pto2_hazard_format.  Task
    ids (.owner, .first.task) are TaskId, like the ids the submits return:
    str() "ring:local" as the text prints them.  After a run of a Python
    orchestration function, .cause and str() name the Python calls
    (Orchestrator.add_dependency, Args.dep, Orchestrator.get_tensor_data,
    pto2.SCOPE_AUTO_STRICT, ...) where the C texts name pto2_add_dependency,
    ... (so does Runtime.error_message for E_HAZARD); after a plugin's (C)
    orchestration they are the C texts."""

    __slots__ = ("kind", "possible", "addr", "nbytes", "owner", "first", "second", "cause",
                 "text")

    def __init__(self, h, python_names=False):
        self.kind = HazardKind(h.contents.kind)
        self.possible = h.contents.possible
        self.addr = h.contents.addr or 0
        self.nbytes = h.contents.nbytes
        self.owner = TaskId(h.contents.owner.raw)
        self.first = HazardAccess(h.contents.first)
        self.second = HazardAccess(h.contents.second)
        cause = h.contents.cause
        self.cause = cause.decode(errors="replace") if cause else ""
        need = _lib.pto2_hazard_format(h, None, 0)
        buf = ctypes.create_string_buffer(max(need, 0) + 1)
        _lib.pto2_hazard_format(h, buf, len(buf))
        self.text = buf.value.decode(errors="replace")
        if python_names:
            self.cause = _python_names(self.cause)
            self.text = _python_names(self.text)

    @property
    def kind_name(self):
        return self.kind.name

    def __str__(self):
        return self.text

    def __repr__(self):
        return f"pto2.Hazard({self.kind_name}: {self.text!r})"


def task_id_is_valid(task_id):
    return _lib.pto2_task_id_is_valid(task_id)


class Plugin:
    """A loaded plugin: a shared library defining PTO2_PLUGIN's entry points."""

    def __init__(self, path):
        self.path = os.fspath(path)
        try:
            self._dll = ctypes.CDLL(self.path)
        except OSError as e:
            raise Error(E_INVALID_ARGS, f"cannot load plugin {self.path}: {e}") from None
        try:
            abi = self._dll.pto2_plugin_abi_version
            self._register = self._dll.pto2_plugin_register
            orch = self._dll.pto2_plugin_orchestrate
        except AttributeError:
            raise Error(E_INVALID_ARGS, f"{self.path} is not a pto2 plugin (no PTO2_PLUGIN "
                        "entry points)") from None
        abi.restype = ctypes.c_uint
        abi.argtypes = []
        if abi() != _ffi.PLUGIN_ABI_VERSION:
            raise Error(E_INVALID_ARGS, f"{self.path}: plugin ABI {abi()}, this package "
                        f"speaks {_ffi.PLUGIN_ABI_VERSION}")
        self._register.restype = ctypes.c_int
        self._register.argtypes = [ctypes.c_void_p]
        self._orchestrate = ctypes.cast(orch, _ffi.ORCH_FN)

    def __repr__(self):
        return f"pto2.Plugin({self.path!r})"


def plugin_path(name):
    """The path of an installed plugin lib<name>.so: $PTO2_PLUGIN_DIR, then
    the pto2/ folder next to the loaded libpto2.so."""
    dirs = []
    if os.environ.get("PTO2_PLUGIN_DIR"):
        dirs.append(os.environ["PTO2_PLUGIN_DIR"])
    dirs.append(os.path.join(os.path.dirname(_lib_path), "pto2"))
    for d in dirs:
        p = os.path.join(d, f"lib{name}.so")
        if os.path.exists(p):
            return p
    raise FileNotFoundError(f"pto2: plugin lib{name}.so not found in {', '.join(dirs)}")


class Runtime:
    """A pto2 runtime (pto2_runtime_create).  Keyword arguments are the
    fields of pto2_config (block_dim, worker_threads, task_window, heap_size,
    dep_pool, stall_timeout_ms, kernel_timeout_ms, log_level, hazard_check,
    auto_strict, workers_only); 0 or absent selects the default,
    worker_threads=WORKERS_NONE runs every task on the calling thread,
    hazard_check=HAZARD_CHECK_FAIL / HAZARD_CHECK_WARN turns the hazard
    checker on (Runtime.hazards() lists what it found), auto_strict=True
    makes every AUTO scope SCOPE_AUTO_STRICT.  Use as a context manager or
    call close()."""

    def __init__(self, **config):
        cfg = _ffi.Config()
        names = {f[0] for f in _ffi.Config._fields_}
        for k, v in config.items():
            if k not in names:
                raise TypeError(f"pto2.Runtime: unknown config field {k!r} "
                                f"(fields: {', '.join(sorted(names))})")
            if k == "hazard_check" and v not in (HAZARD_CHECK_DEFAULT, HAZARD_CHECK_OFF,
                                                 HAZARD_CHECK_FAIL, HAZARD_CHECK_WARN):
                raise ValueError(f"pto2.Runtime: hazard_check={v!r} (pto2.HAZARD_CHECK_OFF, "
                                 "HAZARD_CHECK_FAIL, HAZARD_CHECK_WARN or HAZARD_CHECK_DEFAULT)")
            setattr(cfg, k, bool(v) if isinstance(getattr(cfg, k), bool) else int(v))
        handle = ctypes.c_void_p()
        rc = _lib.pto2_runtime_create(ctypes.byref(cfg), ctypes.byref(handle))
        if rc:
            raise Error(rc, "pto2_runtime_create failed (the reason is on stderr)")
        self._rt = handle
        self._plugins = []
        self._python_run = False  # the last run was a Python orchestration function
        self._names_set = False  # pto2_hazard_set_names holds _PYTHON_NAMES
        self._runs = 0  # runs in progress (pto2_run calls not yet returned)

    def _handle(self):
        if self._rt is None:
            raise Error(E_INVALID_ARGS, "the runtime is closed")
        return self._rt

    def close(self):
        """Destroys the runtime.  Inside a run (from its orchestration
        function or another thread) the library refuses: the run fails with
        E_BUSY, the runtime stays open and this raises pto2.Error(E_BUSY)."""
        if self._rt is None:
            return
        if self._runs:
            _lib.pto2_runtime_destroy(self._rt)  # fails the run, frees nothing
            raise Error(E_BUSY, "pto2: Runtime.close() inside a run: the runtime stays open; "
                        "close it after Runtime.run returns")
        _lib.pto2_runtime_destroy(self._rt)
        self._rt = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:  # pragma: no cover - interpreter shutdown
            pass

    @property
    def config(self):
        cfg = _ffi.Config()
        _lib.pto2_runtime_get_config(self._handle(), ctypes.byref(cfg))
        return {f[0]: getattr(cfg, f[0]) for f in _ffi.Config._fields_}

    @property
    def error_code(self):
        return _lib.pto2_error_code(self._handle())

    @property
    def error_message(self):
        """The message of error_code ("" if none).  A hazard that failed a
        Python orchestration's run (E_HAZARD) is described with the Python
        names, as Hazard's str() (the library renames its text:
        pto2_hazard_set_names)."""
        return _lib.pto2_error_message(self._handle()).decode(errors="replace")

    def _name_calls(self, python):
        """The library's own hazard texts (the PTO2_CHECK=warn lines on
        stderr, the E_HAZARD message) name the Python calls for a Python
        orchestration's run, the C calls for a plugin's."""
        # (inside a run, where pto2_run itself refuses the nested run, they stay)
        if self._names_set != python and not self._runs:
            rc = _lib.pto2_hazard_set_names(self._handle(), _PYTHON_NAME_PAIRS if python else None,
                                            len(_PYTHON_NAMES) if python else 0)
            if rc:
                raise Error(rc, self.error_message)
            self._names_set = python

    def load_plugin(self, plugin):
        """Loads a plugin (a path or a Plugin) and registers its kernels in
        this runtime.  Returns the Plugin."""
        if not isinstance(plugin, Plugin):
            plugin = Plugin(plugin)
        rc = plugin._register(self._handle())
        if rc:
            raise Error(rc, f"{plugin.path}: pto2_plugin_register failed (see stderr)")
        self._plugins.append(plugin)
        return plugin

    def run(self, plugin, tensors=(), scalars=()):
        """Runs the plugin's orchestration on `tensors` (numpy arrays, passed
        zero-copy in this order) and `scalars`.  Returns RunStats; raises
        pto2.Error with the runtime's message if the run fails.

        `plugin` may instead be a Python function f(orchestrator) that submits
        the tasks itself (Orchestrator.submit_aiv with Args), using kernels
        registered by loaded plugins.  An exception it raises ends the run
        (the runtime stays usable) and is re-raised: a pto2.Error fails the
        run with its own code and message (so error_code / error_message
        agree with it; if the run had already failed, the run's first error
        is raised instead, chained to it), any other exception with
        E_ABORTED and a message naming it."""
        if callable(plugin) and not isinstance(plugin, Plugin):
            return self._run_python(plugin)
        if plugin not in self._plugins:
            raise Error(E_INVALID_ARGS, f"{plugin!r} is not loaded in this runtime "
                        "(Runtime.load_plugin)")
        arrays = list(tensors)
        ts = (_ffi.Tensor * max(1, len(arrays)))()
        for i, a in enumerate(arrays):
            ts[i] = tensor(a)
        bits = [_scalar_bits(s) for s in scalars]
        ss = (ctypes.c_uint64 * max(1, len(bits)))(*bits)
        args = _ffi.PluginArgs(ts, len(arrays), len(bits), ss, None)
        st = _ffi.RunStats()
        self._name_calls(False)
        self._python_run = False
        # ctypes releases the GIL for the call; `arrays` keeps the memory alive.
        self._runs += 1
        try:
            rc = _lib.pto2_run(self._handle(), plugin._orchestrate, ctypes.byref(args),
                               ctypes.byref(st))
        finally:
            self._runs -= 1
        if rc:
            raise Error(rc, self.error_message)
        return RunStats(st)

    def _run_python(self, fn):
        raised = []
        orch = Orchestrator(self._handle())

        def trampoline(rt, _arg):
            try:
                fn(orch)
            except Error as e:  # the run fails with the error's own code and message
                raised.append(e)
                _lib.pto2_fail_run(rt, e.code, e.message.encode(errors="replace"))
            except BaseException as e:  # noqa: B902 - re-raised after the run
                raised.append(e)
                _lib.pto2_abort_run(rt, f"python orchestration raised {type(e).__name__}: "
                                        f"{e}".encode(errors="replace"))

        cb = _ffi.ORCH_FN(trampoline)
        st = _ffi.RunStats()
        self._name_calls(True)
        self._python_run = True
        self._runs += 1
        try:
            rc = _lib.pto2_run(self._handle(), cb, None, ctypes.byref(st))
        finally:
            self._runs -= 1
        del orch
        if raised:
            e = raised[0]
            if isinstance(e, Error) and (rc, self.error_message) != (e.code, e.message):
                # The run had failed before (its first error stays), or the
                # code was not a PTO2_E_* code: raise what the runtime says.
                raise Error(rc, self.error_message) from e
            raise e
        if rc:
            raise Error(rc, self.error_message)
        return RunStats(st)

    def hazards(self):
        """The hazards the checker found in the last run (a list of Hazard,
        in the order found; empty when the checker is off).  Read them after
        the run, also after one that raised E_HAZARD: the next run clears
        them."""
        rt = self._handle()
        out = []
        for i in range(_lib.pto2_hazard_count(rt)):
            h = _lib.pto2_hazard_get(rt, i)
            if h:
                out.append(Hazard(h, python_names=self._python_run))
        return out

    def trace_enable(self, max_events=1 << 16):
        """Records the next runs' kernels and phases (first max_events per thread)."""
        rc = _lib.pto2_trace_enable(self._handle(), max_events)
        if rc:
            raise Error(rc, "pto2_trace_enable failed")

    def trace_disable(self):
        _lib.pto2_trace_disable(self._handle())

    def trace_write(self, path):
        """Writes the last run's trace as Chrome / Perfetto JSON."""
        rc = _lib.pto2_trace_write(self._handle(), os.fsencode(path))
        if rc:
            raise Error(rc, f"pto2_trace_write({path}) failed")


__all__ = ["Runtime", "Plugin", "Args", "Orchestrator", "RunStats", "Error", "ArgumentError",
           "ArgumentTypeError", "ArgumentOverflowError", "Hazard",
           "HazardAccess", "HazardKind", "ScopeMode", "ArgKind", "TaskId", "tensor",
           "plugin_path", "strerror", "task_id_is_valid", "library_path"]
