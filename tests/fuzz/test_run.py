# SPDX-License-Identifier: MIT
"""tests/fuzz/run's own test: a harness that crashes, leaks, hits undefined behaviour or breaks its own check
fails its testcase with the input kept on disk and the report quoted; a clean one passes; summary.py counts
them so. The harnesses are tiny ones compiled here, as the fuzz build compiles the real ones."""
import importlib.machinery
import importlib.util
import os
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
_loader = importlib.machinery.SourceFileLoader('fuzz_run', os.path.join(HERE, 'run'))
run = importlib.util.module_from_spec(importlib.util.spec_from_loader('fuzz_run', _loader))
_loader.exec_module(run)
sys.path.insert(0, os.path.join(HERE, '..', 'lib'))
import summary  # noqa: E402

PRELUDE = '''#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
'''
# name -> (body, what the report must say); None: the harness must pass
HARNESSES = {
    'clean': ('return (int) (size * 0);', None),
    'crash': ('char *p = malloc(4); p[4 + size] = 1; free(p); return 0;', 'AddressSanitizer: heap-buffer-overflow'),
    'leak': ('volatile char *p = malloc(64); p[0] = 1; return 0;', 'LeakSanitizer'),
    'ub': ('volatile int x = INT_MAX; x += (int) size + 1; return 0;', 'runtime error: signed integer overflow'),
    'check': ('fprintf(stderr, "x.c:1: contract broken: size > 0\\n"); abort();', 'contract broken'),
}


@pytest.fixture(scope='module')
def build_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp('fuzz-build')
    os.makedirs(d / 'tests' / 'fuzz')
    for name, (body, _) in HARNESSES.items():
        src = d / f'{name}.c'
        src.write_text(PRELUDE + body + '\n}\n')
        subprocess.run(['clang', '-g', '-fsanitize=fuzzer,address,undefined', '-fno-sanitize-recover=undefined',
                        '-o', str(d / 'tests' / 'fuzz' / f'fuzz-{name}'), str(src)], check=True)
    return d


@pytest.fixture(scope='module')
def results(build_dir):
    return {name: run.run_one(name, str(build_dir), seconds=2, keep_corpus=None) for name in HARNESSES}


@pytest.mark.parametrize('name', HARNESSES)
def test_outcome(results, build_dir, name):
    r, expected = results[name], HARNESSES[name][1]
    if expected is None:
        assert r['ok'] and r['rc'] == 0 and r['execs'] > 1000 and not r['artifacts']
        return
    assert not r['ok']
    assert len(r['artifacts']) == 1
    artifact = r['artifacts'][0]
    assert os.path.dirname(artifact) == str(build_dir / 'fuzz-artifacts')
    assert os.path.basename(artifact).startswith(f'fuzz-{name}-')
    assert os.path.isfile(artifact)
    assert expected in r['report']
    assert os.path.isfile(build_dir / 'fuzz-logs' / f'fuzz-{name}.log')


def test_junit_counts(results, tmp_path):
    path = str(tmp_path / 'fuzz.xml')
    run.write_junit(path, list(results.values()))
    assert summary.count_junit(path) == (1, len(HARNESSES) - 1)
    failures = {case.get('name'): case.find('failure') for case in ET.parse(path).getroot().iter('testcase')}
    assert failures['fuzz-clean'] is None
    crash = failures['fuzz-crash']
    assert results['crash']['artifacts'][0] in crash.get('message')
    assert 'heap-buffer-overflow' in crash.text


def test_build_failure_counts(tmp_path):
    path = str(tmp_path / 'fuzz.xml')
    run.write_junit(path, [], build_failure='ninja: error: unknown target\x01')
    assert summary.count_junit(path) == (0, 1)
