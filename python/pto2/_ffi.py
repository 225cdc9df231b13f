"""ctypes declarations of libpto2's stable ABI (see the ABI comment in pto2.h).

The struct mirrors below are checked against the library's own sizes
(pto2_abi_struct_size) when the library is loaded.
"""
import ctypes
import ctypes.util
import glob
import os
import subprocess

MAX_DIMS = 5
RING_COUNT = 4


class TaskId(ctypes.Structure):
    """A task id (pto2_task_id), as the submits return it and the hazards
    name the tasks.  str() is "ring:local", the way the hazard checker's
    texts print ids ("invalid" for an invalid id); .ring and .local are the
    two numbers, .raw the 64-bit value.  int() gives .raw, and an id equals
    another id or an int with the same .raw."""

    _fields_ = [("raw", ctypes.c_uint64)]

    @property
    def valid(self):
        return self.raw != (1 << 64) - 1 and (self.raw >> 56) != 0

    @property
    def ring(self):
        return (self.raw >> 56) - 1

    @property
    def local(self):
        return self.raw & ((1 << 56) - 1)

    def __str__(self):
        return f"{self.ring}:{self.local}" if self.valid else "invalid"

    def __repr__(self):
        return f"TaskId({self})"

    def __int__(self):
        return self.raw

    __index__ = __int__

    def __eq__(self, other):
        if isinstance(other, TaskId):
            return self.raw == other.raw
        if isinstance(other, int) and not isinstance(other, bool):
            return self.raw == other
        return NotImplemented

    def __hash__(self):
        return hash(self.raw)


class Tensor(ctypes.Structure):
    _fields_ = [
        ("addr", ctypes.c_void_p),
        ("data", ctypes.c_void_p),
        ("nbytes", ctypes.c_uint64),
        ("owner", TaskId),
        ("version", ctypes.c_int32),
        ("ndims", ctypes.c_uint8),
        ("dtype", ctypes.c_uint8),
        ("manual_dep", ctypes.c_bool),
        ("shapes", ctypes.c_uint32 * MAX_DIMS),
        ("raw_shapes", ctypes.c_uint32 * MAX_DIMS),
        ("offsets", ctypes.c_uint32 * MAX_DIMS),
    ]


class CreateInfo(ctypes.Structure):
    _fields_ = [
        ("shapes", ctypes.c_uint32 * MAX_DIMS),
        ("ndims", ctypes.c_uint8),
        ("dtype", ctypes.c_uint8),
        ("manual_dep", ctypes.c_bool),
        ("has_initial_value", ctypes.c_bool),
        ("initial_value", ctypes.c_uint64),
    ]


class KernelCtx(ctypes.Structure):
    _fields_ = [
        ("tensors", ctypes.POINTER(Tensor)),
        ("scalars", ctypes.POINTER(ctypes.c_uint64)),
        ("tensor_count", ctypes.c_uint32),
        ("scalar_count", ctypes.c_uint32),
        ("block_idx", ctypes.c_int32),
        ("block_num", ctypes.c_int32),
        ("sub_block_id", ctypes.c_int32),
        ("core_id", ctypes.c_int32),
        ("task_id", TaskId),
        ("user", ctypes.c_void_p),
    ]


class MixedKernels(ctypes.Structure):
    _fields_ = [("aic", ctypes.c_int32), ("aiv0", ctypes.c_int32), ("aiv1", ctypes.c_int32)]


class Allocator(ctypes.Structure):
    _fields_ = [
        ("malloc_fn", ctypes.c_void_p),
        ("realloc_fn", ctypes.c_void_p),
        ("free_fn", ctypes.c_void_p),
        ("user", ctypes.c_void_p),
    ]


class Config(ctypes.Structure):
    _fields_ = [
        ("block_dim", ctypes.c_uint32),
        ("worker_threads", ctypes.c_uint32),
        ("task_window", ctypes.c_uint32),
        ("heap_size", ctypes.c_uint64),
        ("dep_pool", ctypes.c_uint32),
        ("stall_timeout_ms", ctypes.c_uint32),
        ("kernel_timeout_ms", ctypes.c_uint32),
        ("log_level", ctypes.c_int),
        ("hazard_check", ctypes.c_int),
        ("auto_strict", ctypes.c_bool),
        ("workers_only", ctypes.c_bool),
        ("allocator", Allocator),
    ]


class RunStats(ctypes.Structure):
    _fields_ = [
        ("tasks", ctypes.c_uint64),
        ("edges", ctypes.c_uint64),
        ("orch_ns", ctypes.c_uint64),
        ("elapsed_ns", ctypes.c_uint64),
        ("ring_task_high_water", ctypes.c_uint32 * RING_COUNT),
        ("ring_heap_high_water", ctypes.c_uint64 * RING_COUNT),
        ("ring_dep_high_water", ctypes.c_uint32 * RING_COUNT),
        ("hazard_check_bytes", ctypes.c_uint64),
        ("orch_blocked_ns", (ctypes.c_uint64 * 3) * RING_COUNT),
        ("edges_by_reason", ctypes.c_uint64 * 4),
        ("tmap_lookups", ctypes.c_uint64),
        ("tmap_overlap_checks", ctypes.c_uint64),
        ("tmap_chain_max", ctypes.c_uint64),
        ("busy_ns", ctypes.c_uint64),
        ("critical_path_ns", ctypes.c_uint64),
        ("trace_dropped", ctypes.c_uint64),
    ]


class HazardAccess(ctypes.Structure):
    _fields_ = [
        ("task", TaskId),
        ("kernel", ctypes.c_char * 64),
        ("scope_mode", ctypes.c_int),
        ("scope_depth", ctypes.c_uint32),
        ("arg_kind", ctypes.c_uint8),
        ("arg_index", ctypes.c_uint8),
        ("manual_dep", ctypes.c_bool),
        ("ndims", ctypes.c_uint8),
        ("offsets", ctypes.c_uint32 * MAX_DIMS),
        ("shapes", ctypes.c_uint32 * MAX_DIMS),
        ("raw_shapes", ctypes.c_uint32 * MAX_DIMS),
        ("scope_seq", ctypes.c_uint32),
    ]


class Hazard(ctypes.Structure):
    _fields_ = [
        ("kind", ctypes.c_int),
        ("possible", ctypes.c_bool),
        ("addr", ctypes.c_void_p),
        ("nbytes", ctypes.c_uint64),
        ("owner", TaskId),
        ("first", HazardAccess),
        ("second", HazardAccess),
        ("cause", ctypes.c_char_p),
    ]


class PluginArgs(ctypes.Structure):
    _fields_ = [
        ("tensors", ctypes.POINTER(Tensor)),
        ("tensor_count", ctypes.c_uint32),
        ("scalar_count", ctypes.c_uint32),
        ("scalars", ctypes.POINTER(ctypes.c_uint64)),
        ("user", ctypes.c_void_p),
    ]


PLUGIN_ABI_VERSION = 1

ORCH_FN = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p)

_MIRRORS = {
    "pto2_task_id": TaskId,
    "pto2_tensor": Tensor,
    "pto2_create_info": CreateInfo,
    "pto2_kernel_ctx": KernelCtx,
    "pto2_mixed_kernels": MixedKernels,
    "pto2_config": Config,
    "pto2_run_stats": RunStats,
    "pto2_hazard": Hazard,
    "pto2_hazard_access": HazardAccess,
}


def _candidates():
    """Where libpto2.so may be, most specific first."""
    env = os.environ.get("PTO2_LIBRARY")
    if env:
        yield env
        return
    here = os.path.dirname(os.path.abspath(__file__))
    yield from sorted(glob.glob(os.path.join(here, "_lib", "libpto2.so*")))
    try:  # an install prefix known to pkg-config
        libdir = subprocess.run(["pkg-config", "--variable=libdir", "pto2"], capture_output=True,
                                text=True, check=False).stdout.strip()
        if libdir:
            yield os.path.join(libdir, "libpto2.so.0")
    except OSError:
        pass
    yield "libpto2.so.0"  # the dynamic linker's search path (LD_LIBRARY_PATH, ldconfig)
    found = ctypes.util.find_library("pto2")
    if found:
        yield found
    # The usual library folders of a prefix (lib, lib64, lib/<multiarch>),
    # not a recursive search: that walks all of /usr/lib and takes minutes.
    for prefix in ("/usr/local", "/usr"):
        for pattern in ("lib*/libpto2.so.0", "lib*/*-linux-gnu*/libpto2.so.0"):
            yield from sorted(glob.glob(os.path.join(prefix, pattern)))


def _declare(lib):
    c = ctypes
    P = c.POINTER
    sigs = {
        "pto2_version": (c.c_char_p, []),
        "pto2_version_number": (c.c_int, []),
        "pto2_strerror": (c.c_char_p, [c.c_int]),
        "pto2_err_name": (c.c_char_p, [c.c_int]),
        "pto2_abi_struct_size": (c.c_size_t, [c.c_char_p]),
        "pto2_dtype_size": (c.c_size_t, [c.c_int]),
        "pto2_runtime_create": (c.c_int, [P(Config), P(c.c_void_p)]),
        "pto2_runtime_destroy": (None, [c.c_void_p]),
        "pto2_runtime_get_config": (None, [c.c_void_p, P(Config)]),
        "pto2_run": (c.c_int, [c.c_void_p, ORCH_FN, c.c_void_p, P(RunStats)]),
        "pto2_error_code": (c.c_int, [c.c_void_p]),
        "pto2_error_message": (c.c_char_p, [c.c_void_p]),
        "pto2_trace_enable": (c.c_int, [c.c_void_p, c.c_uint32]),
        "pto2_trace_disable": (None, [c.c_void_p]),
        "pto2_trace_write": (c.c_int, [c.c_void_p, c.c_char_p]),
        "pto2_abort_run": (c.c_int, [c.c_void_p, c.c_char_p]),
        "pto2_fail_run": (c.c_int, [c.c_void_p, c.c_int, c.c_char_p]),
        "pto2_get_tensor_data": (c.c_int, [c.c_void_p, P(Tensor), P(c.c_uint32),
                                           P(c.c_uint64)]),
        "pto2_set_tensor_data": (c.c_int, [c.c_void_p, P(Tensor), P(c.c_uint32), c.c_uint64]),
        "pto2_tensor_external": (Tensor, [c.c_void_p, P(c.c_uint32), c.c_uint32, c.c_int]),
        "pto2_tensor_view": (Tensor, [P(Tensor), P(c.c_uint32), P(c.c_uint32)]),
        "pto2_tensor_is_valid": (c.c_bool, [P(Tensor)]),
        "pto2_tensor_numel": (c.c_uint64, [P(Tensor)]),
        "pto2_create_info_make": (CreateInfo, [P(c.c_uint32), c.c_uint32, c.c_int]),
        "pto2_arg_create": (c.c_void_p, []),
        "pto2_arg_destroy": (None, [c.c_void_p]),
        "pto2_arg_init": (None, [c.c_void_p]),
        "pto2_arg_add_input": (None, [c.c_void_p, P(Tensor)]),
        "pto2_arg_add_inout": (None, [c.c_void_p, P(Tensor)]),
        "pto2_arg_add_output_existing": (None, [c.c_void_p, P(Tensor)]),
        "pto2_arg_add_no_dep": (None, [c.c_void_p, P(Tensor)]),
        "pto2_arg_add_output": (None, [c.c_void_p, P(CreateInfo)]),
        "pto2_arg_add_scalar": (None, [c.c_void_p, c.c_uint64]),
        "pto2_arg_add_dep": (None, [c.c_void_p, TaskId]),
        "pto2_arg_set_block_num": (None, [c.c_void_p, c.c_uint32]),
        "pto2_arg_output": (P(Tensor), [c.c_void_p, c.c_uint]),
        "pto2_arg_error": (c.c_char_p, [c.c_void_p]),
        "pto2_submit_aiv": (TaskId, [c.c_void_p, c.c_int32, c.c_void_p]),
        "pto2_submit_aic": (TaskId, [c.c_void_p, c.c_int32, c.c_void_p]),
        "pto2_submit_task": (TaskId, [c.c_void_p, MixedKernels, c.c_void_p]),
        "pto2_submit_aiv_manual": (TaskId, [c.c_void_p, c.c_int32, c.c_void_p]),
        "pto2_submit_aic_manual": (TaskId, [c.c_void_p, c.c_int32, c.c_void_p]),
        "pto2_submit_task_manual": (TaskId, [c.c_void_p, MixedKernels, c.c_void_p]),
        "pto2_scope_begin": (c.c_int, [c.c_void_p, c.c_int]),
        "pto2_scope_end": (c.c_int, [c.c_void_p]),
        "pto2_add_dependency": (c.c_int, [c.c_void_p, TaskId, TaskId]),
        "pto2_is_fatal": (c.c_bool, [c.c_void_p]),
        "pto2_task_id_is_valid": (c.c_bool, [TaskId]),
        "pto2_hazard_count": (c.c_uint32, [c.c_void_p]),
        "pto2_hazard_get": (P(Hazard), [c.c_void_p, c.c_uint32]),
        "pto2_hazard_format": (c.c_int, [P(Hazard), c.c_char_p, c.c_size_t]),
        "pto2_hazard_set_names": (c.c_int, [c.c_void_p, P(c.c_char_p), c.c_uint32]),
    }
    for name, (res, args) in sigs.items():
        fn = getattr(lib, name)
        fn.restype = res
        fn.argtypes = args


def load():
    """Loads libpto2 and checks the struct mirrors against it."""
    errors = []
    for path in _candidates():
        try:
            lib = ctypes.CDLL(path, mode=ctypes.RTLD_GLOBAL)
        except OSError as e:
            errors.append(f"{path}: {e}")
            continue
        try:
            _declare(lib)
        except AttributeError as e:
            errors.append(f"{path}: not a compatible libpto2 ({e})")
            continue
        for cname, mirror in _MIRRORS.items():
            size = lib.pto2_abi_struct_size(cname.encode())
            if size != ctypes.sizeof(mirror):
                raise ImportError(f"pto2: {path}: sizeof({cname}) is {size}, the Python "
                                  f"mirror has {ctypes.sizeof(mirror)}: library and package "
                                  f"versions differ")
        return lib, path
    raise ImportError("pto2: libpto2.so not found; install pto2 (make install, or "
                      "cmake --install build) or set PTO2_LIBRARY to its path.  Tried:\n  " +
                      "\n  ".join(errors))


def loaded_path(default):
    """The file the dynamic linker actually loaded for libpto2 (Linux)."""
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                if "libpto2.so" in line:
                    return line.split(None, 5)[-1].strip()
    except OSError:
        pass
    return default
