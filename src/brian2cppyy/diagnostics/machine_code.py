"""The machine code Cling generated for a kernel, read back for diagnostics
and tests: is a kernel's loop vectorised, and what does it still call?

Cling (cppyy 3.5) prints no optimisation remarks, so the only first-hand
evidence of vectorisation is the code itself: packed double instructions on
256-bit or 512-bit registers (``vmulpd %ymm...``, ``%zmm`` with AVX-512) mean
the loop vectoriser ran; a
``call`` inside a kernel is a function that was not inlined (a libm call, a
``static`` helper), which stops it. x86-64 only; needs GNU objdump.
"""

import ctypes
import platform
import shutil
import subprocess
import tempfile
from collections import Counter
from dataclasses import dataclass

__all__ = ["available", "has_avx2", "mappings", "mapping_of", "disassemble", "packed_count",
           "KernelCode", "kernel_code"]

#: how many bytes of a function are read at most
MAX_FUNCTION_BYTES = 1 << 17


def available():
    """Whether kernels can be disassembled here (x86-64 and objdump)."""
    return platform.machine() in ("x86_64", "AMD64") and shutil.which("objdump") is not None


def has_avx2():
    """Whether this processor has AVX2 (256-bit packed doubles with FMA)."""
    try:
        with open("/proc/cpuinfo") as info:
            return any(line.startswith("flags") and " avx2" in line for line in info)
    except OSError:
        return False


def mappings():
    """This process's memory mappings: ``(start, end, permissions, path)``
    each (``path`` is '' for anonymous memory, e.g. Cling's code)."""
    with open("/proc/self/maps") as maps:
        for line in maps:
            fields = line.split()
            start, end = (int(v, 16) for v in fields[0].split("-"))
            yield start, end, fields[1], fields[5] if len(fields) > 5 else ""


def mapping_of(address):
    """The mapping (as `mappings`) that holds ``address``."""
    for mapping in mappings():
        if mapping[0] <= address < mapping[1]:
            return mapping
    raise ValueError(f"address {address:#x} is not mapped")


def _mapped_bytes(address, limit):
    """Up to ``limit`` bytes from ``address``, never past its memory mapping."""
    _, end, _, _ = mapping_of(address)
    return ctypes.string_at(address, min(limit, end - address))


def disassemble(address, limit=MAX_FUNCTION_BYTES):
    """The instructions (``'vmulpd %ymm1,%ymm2,%ymm3'``) of the function at
    ``address``: up to the ``ret`` after which the next function or padding
    begins."""
    with tempfile.NamedTemporaryFile(suffix=".bin") as f:
        f.write(_mapped_bytes(address, limit))
        f.flush()
        text = subprocess.run(
            ["objdump", "-D", "-b", "binary", "-m", "i386:x86-64", f.name],
            capture_output=True, text=True, check=True,
        ).stdout
    instructions = []
    for line in text.splitlines():
        fields = line.split("\t")
        if len(fields) < 3:
            continue
        instruction = fields[2].strip()
        if instructions and instructions[-1].startswith("ret") and (
            instruction.startswith(("push", "int3", "(bad)", "add    %al,(%rax)"))
        ):
            break
        instructions.append(instruction)
    return instructions


@dataclass
class KernelCode:
    """What a kernel's machine code contains."""

    instructions: int  #: instructions in all
    packed: int  #: packed double-precision instructions on ymm or zmm registers
    scalar: int  #: scalar double-precision instructions (``...sd``)
    calls: list  #: calls on the main path (functions that were not inlined)
    opcodes: Counter  #: count per mnemonic
    #: packed instructions of the functions it calls or hands on directly (a
    #: loop the compiler kept out of line, e.g. the part a thread-pool
    #: dispatch calls)
    called_packed: int = 0

    @property
    def vectorised(self):
        return self.packed + self.called_packed > 0


def packed_count(instructions):
    """How many of ``instructions`` compute on packed doubles in 256-bit or
    512-bit registers (the vector loop's; 128-bit ``xmm`` code is also what
    scalar code and constants use)."""
    return sum(("ymm" in i or "zmm" in i) and i.split()[0].endswith("pd")
               for i in instructions)


def _code_addresses(instructions):
    """The addresses of code among the absolute addresses that
    ``instructions`` load (``movabs $0x...,%reg``): the functions Cling's
    code calls (``call *%reg``) or hands to another function (the part of a
    loop that the thread pool's dispatch calls); constants' addresses, outside
    executable memory, are left out."""
    ranges = [(start, end) for start, end, permissions, _ in mappings() if "x" in permissions]
    found = []
    for instruction in instructions:
        mnemonic, _, operands = instruction.partition(" ")
        operands = operands.strip()
        if mnemonic == "movabs" and operands.startswith("$0x") and ",%" in operands:
            value = int(operands[1:].split(",", 1)[0], 16)
            if any(start <= value < end for start, end in ranges):
                found.append(value)
    return found


def kernel_code(code_object, block="run"):
    """`KernelCode` of one block of a cppyy code object."""
    kernel = code_object.compiled_code.get(block)
    if kernel is None:
        raise ValueError(f"'{code_object.name}' has no compiled '{block}' block")
    instructions = disassemble(kernel.function_address)
    mnemonics = [i.split()[0] for i in instructions]
    # the main path ends at the first ret; the C++ exception handlers
    # (landing pads, with their calls into the C++ runtime) follow it
    main_path = instructions[: mnemonics.index("ret") + 1] if "ret" in mnemonics else instructions
    called_packed = 0
    for target in set(_code_addresses(main_path)):
        try:
            called_packed += packed_count(disassemble(target))
        except ValueError:  # not mapped: not code of this process
            pass
    return KernelCode(
        instructions=len(instructions),
        packed=packed_count(instructions),
        scalar=sum(m.endswith("sd") for m in mnemonics),
        calls=[i for i in main_path if i.startswith("call")],
        opcodes=Counter(mnemonics),
        called_packed=called_packed,
    )
