#!/usr/bin/env python3
"""coverage.py OBJ_DIR - line coverage of src/ from gcc --coverage objects.

gcov reads every object's notes (.gcno) and counts (.gcda, absent for code
that never ran) and writes JSON; a line is covered when any object that
holds it (a header's inline functions are in many) ran it. Prints the total
and one line per folder of src/, then the least covered files."""
import collections
import gzip
import json
import os
import subprocess
import sys
import tempfile


def gcov_lines(obj_dir, root):
    """{source path: {line: covered}} for the files under src/."""
    lines = collections.defaultdict(dict)
    notes = []
    for d, _, files in os.walk(obj_dir):
        for f in files:
            # obj/src/cli/x.gcno is src/cli/x.c: a note whose source is gone
            # (moved or deleted since that build) is not counted.
            src = os.path.join(os.path.relpath(d, obj_dir), f[:-len(".gcno")] + ".c")
            if f.endswith(".gcno") and os.path.exists(os.path.join(root, src)):
                notes.append(os.path.join(d, f))
    with tempfile.TemporaryDirectory() as tmp:
        for note in sorted(notes):
            subprocess.run(["gcov", "--json-format", "-o", os.path.dirname(note), note],
                           cwd=tmp, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for name in os.listdir(tmp):
            if not name.endswith(".gcov.json.gz"):
                continue
            with gzip.open(os.path.join(tmp, name)) as f:
                data = json.load(f)
            for fl in data["files"]:
                path = os.path.relpath(os.path.join(data.get("current_working_directory", root),
                                                    fl["file"]), root)
                if not path.startswith("src/"):
                    continue
                for ln in fl["lines"]:
                    seen = lines[path]
                    seen[ln["line_number"]] = seen.get(ln["line_number"], False) or ln["count"] > 0
    return lines


def main():
    root = os.getcwd()
    lines = gcov_lines(os.path.abspath(sys.argv[1]), root)
    folders = collections.defaultdict(lambda: [0, 0])
    per_file = []
    for path, seen in lines.items():
        hit, total = sum(seen.values()), len(seen)
        folder = os.path.dirname(path)
        folders[folder][0] += hit
        folders[folder][1] += total
        per_file.append((hit / total if total else 1, total - hit, path, hit, total))
    hit = sum(h for h, _ in folders.values())
    total = sum(t for _, t in folders.values())
    print("\nline coverage of src/ (gcov)")
    for folder in sorted(folders):
        h, t = folders[folder]
        print("  %-10s %6.1f%%  %5d of %5d lines" % (folder[4:] + "/", 100.0 * h / t, h, t))
    print("  %-10s %6.1f%%  %5d of %5d lines" % ("total", 100.0 * hit / total, hit, total))
    print("\nleast covered files (lines not run)")
    for frac, missed, path, h, t in sorted(per_file, key=lambda x: -x[1])[:12]:
        print("  %-28s %6.1f%%  %4d lines not run" % (path, 100.0 * frac, missed))


if __name__ == "__main__":
    main()
