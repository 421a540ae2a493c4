"""Builds the optional compiled fast path; everything else is declared in pyproject.toml."""

from setuptools import setup
from setuptools.command.build_ext import build_ext


class OptionalBuildExt(build_ext):
    """A machine without a C compiler still gets a working (slower, ABI-mode) falcoplug."""

    def run(self) -> None:
        try:
            super().run()
        except Exception as exc:  # noqa: BLE001 - any build failure means "use the fallback"
            print(f"falcoplug: fast path not built ({exc}); using the ABI-mode fallback")

    def build_extension(self, ext) -> None:
        try:
            super().build_extension(ext)
        except Exception as exc:  # noqa: BLE001
            print(f"falcoplug: fast path not built ({exc}); using the ABI-mode fallback")


setup(
    cffi_modules=["src/falcoplug/abi/_fastpath_build.py:ffibuilder", "src/falcoplug/abi/_tables_build.py:ffibuilder"],
    cmdclass={"build_ext": OptionalBuildExt},
)
