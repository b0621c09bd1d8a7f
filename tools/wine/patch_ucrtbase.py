"""Make a copy of Wine's ucrtbase.dll in which the complex-number accessors numpy needs work.

    python3 tools/wine/patch_ucrtbase.py WINE_UCRTBASE.DLL OUT.DLL

Used only by tools/windows_exe_under_wine.sh, for the Wine prefix of a test run; the
result never goes into AutoHedge.exe (PyInstaller does not bundle system32 DLLs, and real
Windows has a complete ucrtbase.dll).

Why: Wine 8.0's ucrtbase.dll exports crealf, cimagf, cabs, carg... as *stubs* that abort
the process when called, and numpy 2.x calls crealf while it is imported. Each such stub
is 24 bytes of x64 code:

    sub rsp, 0x28 ; lea rcx, [rip+dll name] ; lea rdx, [rip+function name] ;
    call __wine_spec_unimplemented_stub ; nop

We recognise a stub by that shape *and* by its lea rdx pointing at its own export name,
then write a real implementation over it (at most 24 bytes, so the next stub is untouched).
Microsoft x64 calling convention: an 8-byte _Fcomplex arrives in RCX (real part in the low
32 bits); a 16-byte _Dcomplex/_Lcomplex arrives by pointer in RCX; the result is in XMM0;
MSVC's long double is a double. cabs* and carg* finish with a jump to the DLL's own
_hypot/_hypotf/atan2/atan2f, so the arithmetic is Wine's.

Finally the "Wine builtin DLL" mark after the DOS header is cleared, so that Wine loads the
file as a native DLL (the prefix sets DllOverrides ucrtbase=native,builtin).
Any surprise (no export, not a stub of the known shape) is one sentence and exit code 1.
"""
from __future__ import annotations

import struct
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

STUB_SIZE = 24
BUILTIN_MARK = b"Wine builtin DLL"

# Instructions, as bytes (Intel syntax in the comments).
MOVD_XMM0_ECX = bytes.fromhex("660f6ec1")      # movd  xmm0, ecx
MOVD_XMM1_ECX = bytes.fromhex("660f6ec9")      # movd  xmm1, ecx
SHR_RCX_32 = bytes.fromhex("48c1e920")         # shr   rcx, 32
LOAD_XMM0_RE = bytes.fromhex("f20f1001")       # movsd xmm0, [rcx]      real part of a 16-byte complex
LOAD_XMM0_IM = bytes.fromhex("f20f104108")     # movsd xmm0, [rcx + 8]  imaginary part
LOAD_XMM1_RE = bytes.fromhex("f20f1009")       # movsd xmm1, [rcx]
LOAD_XMM1_IM = bytes.fromhex("f20f104908")     # movsd xmm1, [rcx + 8]
RET = bytes.fromhex("c3")                      # ret


class PatchError(Exception):
    """One sentence saying why the DLL cannot be patched."""


@dataclass(frozen=True)
class Section:
    virtual_address: int
    virtual_size: int
    raw_offset: int
    raw_size: int


class PeImage:
    """Just enough of a PE32+ file: sections, exports, reading and writing at an RVA."""

    def __init__(self, data: bytearray) -> None:
        self.data = data
        pe = struct.unpack_from("<I", data, 0x3C)[0]
        if data[pe:pe + 4] != b"PE\0\0":
            raise PatchError("the input is not a PE file")
        n_sections, = struct.unpack_from("<H", data, pe + 6)
        optional_size, = struct.unpack_from("<H", data, pe + 20)
        optional = pe + 24
        if struct.unpack_from("<H", data, optional)[0] != 0x20B:
            raise PatchError("the input is not a 64-bit (PE32+) DLL")
        table = optional + optional_size
        self.sections = []
        for index in range(n_sections):
            vsize, va, rsize, roff = struct.unpack_from("<IIII", data, table + 40 * index + 8)
            self.sections.append(Section(va, vsize, roff, rsize))
        export_rva, = struct.unpack_from("<I", data, optional + 112)  # data directory 0
        self.exports = self._read_exports(export_rva)

    def offset(self, rva: int) -> int:
        for s in self.sections:
            if s.virtual_address <= rva < s.virtual_address + max(s.virtual_size, s.raw_size):
                return rva - s.virtual_address + s.raw_offset
        raise PatchError(f"address {rva:#x} is in no section")

    def c_string(self, rva: int) -> str:
        start = self.offset(rva)
        return self.data[start:self.data.index(b"\0", start)].decode("ascii", "replace")

    def _read_exports(self, directory_rva: int) -> dict[str, int]:
        d = self.offset(directory_rva)
        n_names, functions, names, ordinals = struct.unpack_from("<IIII", self.data, d + 24)
        exports = {}
        for i in range(n_names):
            name_rva, = struct.unpack_from("<I", self.data, self.offset(names) + 4 * i)
            ordinal, = struct.unpack_from("<H", self.data, self.offset(ordinals) + 2 * i)
            function_rva, = struct.unpack_from("<I", self.data, self.offset(functions) + 4 * ordinal)
            exports[self.c_string(name_rva)] = function_rva
        return exports

    def function(self, name: str) -> int:
        try:
            return self.exports[name]
        except KeyError:
            raise PatchError(f"ucrtbase.dll does not export {name}") from None

    def write(self, rva: int, code: bytes) -> None:
        at = self.offset(rva)
        self.data[at:at + len(code)] = code


def rel32_target(image: PeImage, rva: int, length: int) -> int:
    """Where a RIP-relative operand (the last 4 bytes of a `length`-byte instruction at rva) points."""
    displacement, = struct.unpack_from("<i", image.data, image.offset(rva) + length - 4)
    return rva + length + displacement


def is_wine_stub(image: PeImage, name: str, rva: int) -> bool:
    """The 24-byte shape described in the module docstring, naming this very function."""
    at = image.offset(rva)
    code = bytes(image.data[at:at + STUB_SIZE])
    shape = (code[0:4] == bytes.fromhex("4883ec28") and code[4:7] == bytes.fromhex("488d0d")
             and code[11:14] == bytes.fromhex("488d15") and code[18] == 0xE8)
    return shape and image.c_string(rel32_target(image, rva + 11, 7)) == name


def jump(image: PeImage, at_rva: int, target: str) -> bytes:
    """jmp rel32 from at_rva to another export of the same DLL (a tail call)."""
    return b"\xe9" + struct.pack("<i", image.function(target) - (at_rva + 5))


def tail_call(prefix: bytes, target: str) -> Callable[[PeImage, int], bytes]:
    return lambda image, rva: prefix + jump(image, rva + len(prefix), target)


def plain(code: bytes) -> Callable[[PeImage, int], bytes]:
    return lambda image, rva: code


# What each stub becomes. Argument order: atan2(y = imaginary, x = real); hypot(real, imaginary).
IMPLEMENTATIONS: dict[str, Callable[[PeImage, int], bytes]] = {
    "crealf": plain(MOVD_XMM0_ECX + RET),
    "cimagf": plain(SHR_RCX_32 + MOVD_XMM0_ECX + RET),
    "creall": plain(LOAD_XMM0_RE + RET),
    "cimag": plain(LOAD_XMM0_IM + RET),
    "cimagl": plain(LOAD_XMM0_IM + RET),
    "cabsf": tail_call(MOVD_XMM0_ECX + SHR_RCX_32 + MOVD_XMM1_ECX, "_hypotf"),
    "cabs": tail_call(LOAD_XMM0_RE + LOAD_XMM1_IM, "_hypot"),
    "cabsl": tail_call(LOAD_XMM0_RE + LOAD_XMM1_IM, "_hypot"),
    "cargf": tail_call(MOVD_XMM1_ECX + SHR_RCX_32 + MOVD_XMM0_ECX, "atan2f"),
    "carg": tail_call(LOAD_XMM1_RE + LOAD_XMM0_IM, "atan2"),
    "cargl": tail_call(LOAD_XMM1_RE + LOAD_XMM0_IM, "atan2"),
}


def patch(source: Path, target: Path) -> list[str]:
    """Write the patched copy; returns one line per function saying what was done."""
    image = PeImage(bytearray(source.read_bytes()))
    report = []
    for name, implementation in IMPLEMENTATIONS.items():
        rva = image.function(name)
        if not is_wine_stub(image, name, rva):
            report.append(f"{name}: already implemented by this Wine, left as it is")
            continue
        code = implementation(image, rva)
        if len(code) > STUB_SIZE:
            raise PatchError(f"the code for {name} is {len(code)} bytes, more than a stub's {STUB_SIZE}")
        image.write(rva, code)
        report.append(f"{name}: stub at {rva:#x} replaced ({len(code)} bytes)")
    mark = image.data.find(BUILTIN_MARK, 0, 0x100)
    if mark >= 0:
        image.data[mark:mark + len(BUILTIN_MARK)] = bytes(len(BUILTIN_MARK))
    target.write_bytes(image.data)
    return report


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: patch_ucrtbase.py WINE_UCRTBASE.DLL OUT.DLL", file=sys.stderr)
        return 2
    try:
        for line in patch(Path(argv[0]), Path(argv[1])):
            print(line)
    except (OSError, PatchError, struct.error, ValueError) as exc:
        print(f"patch_ucrtbase: {argv[0]} cannot be patched: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
