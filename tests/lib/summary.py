#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Counts results from meson's testlog.json files and pytest's JUnit XML files: prints "N passed, N failed".

A skipped test counts as failed (nothing in this suite may skip silently); a file that is missing counts as
one failure, so a run that died early cannot look green."""
import json
import sys
import xml.etree.ElementTree as ET


def count_meson(path):
    passed = failed = 0
    with open(path) as f:
        for line in f:
            if line.strip():
                passed_here = json.loads(line).get('result') == 'OK'
                passed += passed_here
                failed += not passed_here
    return passed, failed


def count_junit(path):
    passed = failed = 0
    for case in ET.parse(path).getroot().iter('testcase'):
        bad = any(child.tag in ('failure', 'error', 'skipped') for child in case)
        failed += bad
        passed += not bad
    return passed, failed


def main(paths):
    passed = failed = 0
    for path in paths:
        try:
            p, f = count_junit(path) if path.endswith('.xml') else count_meson(path)
        except (OSError, ValueError, ET.ParseError) as e:
            print(f'summary: cannot read {path}: {e}', file=sys.stderr)
            p, f = 0, 1
        passed += p
        failed += f
    print(f'{passed} passed, {failed} failed')
    return 1 if failed or not passed else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
