# The pto2 Python package: ctypes bindings over the shared library libpto2.
# Pure Python; it needs libpto2.so installed (see README.md).  No
# pyproject.toml on purpose: pip then builds with the setuptools already
# installed (Debian's python3-setuptools) and needs no network.
import os
import re

from setuptools import setup


def _version():
    # One source of truth: project(pto2 VERSION x.y.z) in the CMakeLists.txt
    # next to this folder.
    here = os.path.dirname(os.path.abspath(__file__))
    try:
        with open(os.path.join(here, "..", "CMakeLists.txt")) as f:
            return re.search(r"project\(pto2 VERSION ([0-9.]+)", f.read()).group(1)
    except (OSError, AttributeError):
        return "0.0.0"


setup(
    name="pto2",
    version=_version(),
    description="Python bindings for the pto2 task-graph runtime (ctypes over libpto2.so)",
    packages=["pto2"],
    python_requires=">=3.8",
    install_requires=[],  # numpy is optional: Debian's python3-numpy
)
