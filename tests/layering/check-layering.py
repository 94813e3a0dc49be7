#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""The layering the build enforces (README "Layout"), tried with the build's own compiler flags.

For every folder of src/ this takes the include flags meson compiles that folder's library with (from
compile_commands.json) and compiles, with -fsyntax-only, a probe file that includes one header of every
other folder. A folder the layering table allows must compile; any other (a folder above it, or beside
it) must fail because the header is not found, which is what a maintainer who writes an upward include sees.

usage: check-layering.py SRCDIR compile_commands.json FOLDER=ALLOWED,ALLOWED... ...
"""
import json
import os
import shlex
import subprocess
import sys
import tempfile


def flags_of(commands, srcdir, folder):
    """The compiler and -I/-isystem/-D flags of the first file compiled from src/<folder>/."""
    want = os.path.join(os.path.realpath(srcdir), "src", folder) + os.sep
    for entry in commands:
        path = os.path.realpath(os.path.join(entry["directory"], entry["file"]))
        if not path.startswith(want):
            continue
        argv = shlex.split(entry["command"]) if "command" in entry else entry["arguments"]
        keep, i = [], 1
        while i < len(argv):
            a = argv[i]
            if a in ("-I", "-isystem", "-D"):
                keep += [a, argv[i + 1]]
                i += 2
                continue
            if a.startswith(("-I", "-isystem", "-D", "-std=")):
                keep.append(a)
            i += 1
        # Relative -I paths are relative to the build directory.
        return argv[0], keep, entry["directory"]
    return None


def not_found(stderr, header):
    """gcc: 'x.h: No such file or directory'; clang: "'x.h' file not found"."""
    return f"{header}: No such file" in stderr or f"'{header}' file not found" in stderr


def main():
    srcdir, ccjson = sys.argv[1], sys.argv[2]
    table = {}
    for arg in sys.argv[3:]:
        folder, _, allowed = arg.partition("=")
        table[folder] = [a for a in allowed.split(",") if a]
    commands = json.load(open(ccjson))
    folders = sorted(d for d in os.listdir(os.path.join(srcdir, "src"))
                     if os.path.isdir(os.path.join(srcdir, "src", d)) and d != "man")
    missing = sorted(set(folders) - set(table))
    if missing:
        print(f"FAIL: folders with no place in the layering table: {missing}")
        return 1
    header = {}
    for f in folders:
        hs = sorted(h for h in os.listdir(os.path.join(srcdir, "src", f)) if h.endswith(".h"))
        if hs:
            header[f] = hs[0]
    failures, checked = 0, 0
    with tempfile.TemporaryDirectory() as tmp:
        for folder in folders:
            found = flags_of(commands, srcdir, folder)
            if not found:
                print(f"FAIL: no compile command for a file of src/{folder}/")
                failures += 1
                continue
            cc, flags, cwd = found
            for other, h in sorted(header.items()):
                if other == folder:
                    continue
                allowed = other in table[folder]
                probe = os.path.join(tmp, f"{folder}-includes-{other}.c")
                with open(probe, "w") as out:
                    out.write(f'#include "{h}"\n')
                r = subprocess.run([cc, *flags, "-fsyntax-only", probe], cwd=cwd,
                                   capture_output=True, text=True)
                checked += 1
                if allowed and r.returncode != 0:
                    print(f"FAIL: src/{folder}/ may use src/{other}/ but including \"{h}\" did not compile:\n"
                          + r.stderr[-2000:])
                    failures += 1
                elif not allowed and (r.returncode == 0 or not not_found(r.stderr, h)):
                    print(f"FAIL: src/{folder}/ must not use src/{other}/, yet including \"{h}\" "
                          + ("compiled" if r.returncode == 0 else "failed otherwise:\n" + r.stderr[-2000:]))
                    failures += 1
                elif not allowed:
                    print(f"ok: src/{folder}/ including \"{h}\" (src/{other}/) does not compile")
    print(f"{checked} includes tried, {failures} wrong")
    return 1 if failures or checked == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
