"""The ctypes mirrors of devo.h's structs against the C compiler: every field's offset and
every struct's size, from the devo.h installed with the package. A header change that the
mirrors do not follow fails here."""
import ctypes
import os
import shutil
import subprocess

import pytest

import devo
from devo import _lib


def c_layout(tmp_path):
    """{struct: (size, {field: offset})} as the C compiler lays them out."""
    compiler = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    if not compiler:
        pytest.fail("no C compiler: the layout test needs one (CC)")
    include = os.path.join(os.path.dirname(devo.__file__), "include")
    lines = ["#include <stddef.h>", "#include <stdio.h>", '#include "devo.h"',
             "int main(void) {"]
    for name, mirror in _lib.MIRRORED.items():
        lines.append('printf("%s size %%zu\\n", sizeof(%s));' % (name, name))
        for field, _ in mirror._fields_:
            lines.append('printf("%s %s %%zu\\n", offsetof(%s, %s));'
                         % (name, field, name, field))
    lines += ["return 0;", "}"]
    source = tmp_path / "layout.c"
    source.write_text("\n".join(lines))
    binary = tmp_path / "layout"
    subprocess.run([compiler, "-I", include, str(source), "-o", str(binary)], check=True)
    out = subprocess.run([str(binary)], capture_output=True, text=True, check=True).stdout
    layout = {}
    for line in out.splitlines():
        struct, field, value = line.split()
        size, fields = layout.setdefault(struct, [0, {}])
        if field == "size":
            layout[struct][0] = int(value)
        else:
            fields[field] = int(value)
    return layout


def test_every_mirrored_struct_has_the_c_compilers_layout(tmp_path):
    layout = c_layout(tmp_path)
    for name, mirror in _lib.MIRRORED.items():
        size, offsets = layout[name]
        assert ctypes.sizeof(mirror) == size, name
        for field, _ in mirror._fields_:
            assert getattr(mirror, field).offset == offsets[field], (name, field)


def test_the_version_is_the_c_librarys(tmp_path):
    header = open(os.path.join(os.path.dirname(devo.__file__), "include", "devo.h")).read()
    parts = [line.split()[2] for line in header.splitlines()
             if line.startswith("#define DEVO_VERSION_") and len(line.split()) == 3]
    assert devo.__version__ == ".".join(parts) == _lib.lib.devo_version_string().decode()
    from importlib.metadata import version
    assert version("devo-evolve") == devo.__version__
