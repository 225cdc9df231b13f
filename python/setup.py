# The pto2 Python package: ctypes bindings over the shared library libpto2.
#
# `pip install ./python` bundles the C library into the package (pto2/_lib/):
#   - from $PTO2_LIBRARY_DIR, a folder holding libpto2.so* and pto2/lib*.so
#     plugins (e.g. build/lib of a CMake build), if set;
#   - else built with CMake from the repository around this folder (needs
#     cmake and a C compiler: `make deps`);
#   - PTO2_BUNDLE=0 skips both: the package then uses an installed libpto2
#     (make install).
# With the library bundled, the wheel is platform-tagged (py3-none-linux_x86_64
# on x86-64 Linux); with PTO2_BUNDLE=0 it is pure (py3-none-any).
# No pyproject.toml on purpose: pip then builds with the setuptools already
# installed (Debian's python3-setuptools) and needs no network.
import glob
import os
import re
import shutil
import subprocess

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.dist import Distribution

try:  # Debian's python3-wheel (pip builds wheels with it when it is there)
    from wheel.bdist_wheel import bdist_wheel
except ImportError:  # pragma: no cover - pip then installs without a wheel
    bdist_wheel = None

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)


def _version():
    # One source of truth: project(pto2 VERSION x.y.z) in the CMakeLists.txt
    # next to this folder.
    try:
        with open(os.path.join(REPO, "CMakeLists.txt")) as f:
            return re.search(r"project\(pto2 VERSION ([0-9.]+)", f.read()).group(1)
    except (OSError, AttributeError):
        return "0.0.0"


def _cmake_build(tmp):
    if not os.path.exists(os.path.join(REPO, "CMakeLists.txt")) or not shutil.which("cmake"):
        return None
    subprocess.check_call(["cmake", "-S", REPO, "-B", tmp, "-DCMAKE_BUILD_TYPE=Release",
                           "-DPTO2_BUILD_TESTS=OFF", "-DPTO2_BUILD_TOOLS=OFF",
                           "-DPTO2_BUILD_EXAMPLES=ON", "-DPTO2_INSTALL=OFF",
                           "-DPTO2_WERROR=OFF"], stdout=subprocess.DEVNULL)
    subprocess.check_call(["cmake", "--build", tmp, "-j", str(os.cpu_count() or 2),
                           "--target", "pto2_shared", "pto2_pa", "pto2_demo"],
                          stdout=subprocess.DEVNULL)
    return os.path.join(tmp, "lib")


class BuildWithLibrary(build_py):
    """build_py that also copies libpto2 and the plugins into pto2/_lib."""

    def run(self):
        super().run()
        if os.environ.get("PTO2_BUNDLE") == "0":
            return
        libdir = os.environ.get("PTO2_LIBRARY_DIR") or _cmake_build(
            os.path.join(HERE, "build", "cmake"))
        if not libdir:
            return
        dest = os.path.join(self.build_lib, "pto2", "_lib")
        os.makedirs(os.path.join(dest, "pto2"), exist_ok=True)
        libs = sorted(glob.glob(os.path.join(libdir, "libpto2.so.*")))
        if not libs:
            raise RuntimeError(f"no libpto2.so.* in {libdir}")
        # One real file under the soname, which the plugins ask for.
        shutil.copyfile(max(libs, key=len), os.path.join(dest, "libpto2.so.0"))
        for p in glob.glob(os.path.join(libdir, "pto2", "lib*.so")):
            shutil.copyfile(p, os.path.join(dest, "pto2", os.path.basename(p)))


class BinaryDistribution(Distribution):
    """The package bundles a native libpto2.so: it is not pure Python, so
    it installs into platlib and its wheel carries a platform tag."""

    def has_ext_modules(self):
        return _bundles_library()

    def is_pure(self):
        return not _bundles_library()


def _bundles_library():
    return os.environ.get("PTO2_BUNDLE") != "0"


cmdclass = {"build_py": BuildWithLibrary}
if bdist_wheel is not None:
    class PlatformWheel(bdist_wheel):
        """A wheel tagged py3-none-<platform> (e.g. linux_x86_64): the
        bundled library is native code, but the Python side is ctypes only,
        so any Python 3 of that platform can use it."""

        def finalize_options(self):
            super().finalize_options()
            self.root_is_pure = not _bundles_library()

        def get_tag(self):
            python, abi, plat = super().get_tag()
            if not self.root_is_pure:
                python, abi = "py3", "none"
            return python, abi, plat

    cmdclass["bdist_wheel"] = PlatformWheel


setup(
    name="pto2",
    version=_version(),
    description="Python bindings for the pto2 task-graph runtime (ctypes over libpto2.so)",
    packages=["pto2"],
    python_requires=">=3.8",
    install_requires=[],  # numpy is optional: Debian's python3-numpy
    cmdclass=cmdclass,
    distclass=BinaryDistribution,
    zip_safe=False,
)
