import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../../scripts/lib/core/config.js';
import { DEFAULT_SPECS_FILE, LOG_PARSER_NAMES, loadSpecs, mergeSpecs, parseSpecs, specFor } from '../../scripts/lib/task/specs.js';
import { catchTaskError } from '../support/helpers.js';


const SAMPLE = {
  _comment: 'ignored',
  'psf/requests': { install: 'pip install -e .', install_network: true, _comment: 'needs PyPI' },
  'pytest-dev/pytest': {
    _comment: 'versioned',
    default: { install: 'pip install -e .', env: { A: '1', B: '1' }, timeouts: { clone: 100, install: 200 } },
    versions: {
      '5.4': { env: { SETUPTOOLS_SCM_PRETEND_VERSION: '5.4.0', B: '2' }, timeouts: { install: 400 } },
      '6.3': { pre_install: ["sed -i 's/>=>=/>=/' setup.cfg"], install: 'pip install .' },
    },
  },
  'only/versions': { versions: { '1.0': { image: 'img:1' } } },
};

describe('parseSpecs and specFor', () => {
  const specs = parseSpecs(JSON.stringify(SAMPLE), 'specs.json');

  it('ignores "_" keys and reads flat and versioned entries', () => {
    expect([...specs.keys()]).toEqual(['psf/requests', 'pytest-dev/pytest', 'only/versions']);
    expect(specs.get('psf/requests')).toEqual({ default: { install: 'pip install -e .', install_network: true }, versions: {} });
  });

  it.each([
    ['a flat entry for any version', 'psf/requests', '2.4', { install: 'pip install -e .', install_network: true }],
    ['a flat entry without a version', 'psf/requests', null, { install: 'pip install -e .', install_network: true }],
    [
      'a version merged over the default (env and timeouts key by key)',
      'pytest-dev/pytest',
      '5.4',
      { install: 'pip install -e .', env: { A: '1', B: '2', SETUPTOOLS_SCM_PRETEND_VERSION: '5.4.0' }, timeouts: { clone: 100, install: 400 } },
    ],
    [
      'a version replacing install and adding pre_install',
      'pytest-dev/pytest',
      '6.3',
      { install: 'pip install .', pre_install: ["sed -i 's/>=>=/>=/' setup.cfg"], env: { A: '1', B: '1' }, timeouts: { clone: 100, install: 200 } },
    ],
    ['the default for an unknown version', 'pytest-dev/pytest', '9.9', { install: 'pip install -e .', env: { A: '1', B: '1' }, timeouts: { clone: 100, install: 200 } }],
    ['a version without a default', 'only/versions', '1.0', { image: 'img:1' }],
    ['nothing for an unknown version without a default', 'only/versions', '2.0', null],
    ['nothing for an unknown repo', 'no/such', '1.0', null],
  ])('gives %s', (_name, repo, version, expected) => {
    expect(specFor(specs, repo, version)).toEqual(expected);
  });

  it('returns copies that callers may change', () => {
    const s = specFor(specs, 'pytest-dev/pytest', '5.4')!;
    s.env!.A = 'changed';
    expect(specFor(specs, 'pytest-dev/pytest', '5.4')!.env!.A).toBe('1');
  });

  it.each([
    ['a top level that is not an object', [], 'specs.json: expected a JSON object mapping "owner/name" to specs, got an array'],
    ['a repo key that is not owner/name', { requests: {} }, 'specs.json: requests is not a repository name ("owner/name"), got "requests"'],
    ['an entry that is not an object', { 'a/b': 'pip install .' }, 'specs.json: "a/b" must be an object (an EnvSpec, or {"default", "versions"}), got "pip install ."'],
    ['a non-string install in a version', { 'psf/requests': { versions: { '2.0': { install: 3 } } } }, 'specs.json: "psf/requests".versions."2.0".install must be a string, got 3'],
    ['an unknown key in a spec', { 'a/b': { instal: 'x' } }, 'specs.json: "a/b".instal is not a known key; allowed: image, install, env, test_cmd, pre_install, install_network, timeouts, log_parser, python, packages, pip_packages, eval_commands, workdir, env_prelude (keys starting with "_" are ignored)'],
    ['an unknown key next to versions', { 'a/b': { versions: {}, install: 'x' } }, 'specs.json: "a/b".install is not a known key; allowed: default, versions (keys starting with "_" are ignored)'],
    ['a non-string env value', { 'a/b': { env: { X: 1 } } }, 'specs.json: "a/b".env.X must be a string, got 1'],
    ['a bad env name', { 'a/b': { env: { 'X-Y': '1' } } }, 'specs.json: "a/b".env."X-Y" is not a valid environment variable name, got "X-Y"'],
    ['pre_install that is not a list', { 'a/b': { pre_install: 'x' } }, 'specs.json: "a/b".pre_install must be an array of strings, got "x"'],
    ['a bad pre_install item', { 'a/b': { default: { pre_install: ['ok', 2] } } }, 'specs.json: "a/b".default.pre_install[1] must be a string, got 2'],
    ['a non-boolean install_network', { 'a/b': { install_network: 'yes' } }, 'specs.json: "a/b".install_network must be true or false, got "yes"'],
    ['a negative timeout', { 'a/b': { timeouts: { test: -1 } } }, 'specs.json: "a/b".timeouts.test must be a positive number of seconds up to 604800, got -1'],
    ['an unknown timeout', { 'a/b': { timeouts: { tests: 1 } } }, 'specs.json: "a/b".timeouts.tests is not a known key; allowed: clone, install, test (keys starting with "_" are ignored)'],
    ['an image with a space', { 'a/b': { image: 'a b' } }, 'specs.json: "a/b".image must be an image reference (no whitespace, no leading "-"), got "a b"'],
    ['versions that are not an object', { 'a/b': { versions: ['1.0'] } }, 'specs.json: "a/b".versions must be an object mapping versions to specs, got ["1.0"]'],
    ['an unknown log parser', { 'a/b': { log_parser: 'nose' } }, `specs.json: "a/b".log_parser must be one of ${LOG_PARSER_NAMES.join(', ')}, got "nose"`],
    ['a log parser that is not a string', { 'a/b': { log_parser: 1 } }, `specs.json: "a/b".log_parser must be one of ${LOG_PARSER_NAMES.join(', ')}, got 1`],
    ['a python that is not a version', { 'a/b': { python: 'py3' } }, 'specs.json: "a/b".python must be a Python version such as "3.9", got "py3"'],
    ['a relative workdir', { 'a/b': { workdir: 'testbed' } }, 'specs.json: "a/b".workdir must be an absolute path without whitespace, got "testbed"'],
    ['an empty env_prelude', { 'a/b': { env_prelude: ' ' } }, 'specs.json: "a/b".env_prelude must be a string, got " "'],
    ['pip_packages that is not a list', { 'a/b': { pip_packages: 'numpy' } }, 'specs.json: "a/b".pip_packages must be an array of strings, got "numpy"'],
    ['a bad eval_commands item', { 'a/b': { eval_commands: ['export A=1', 3] } }, 'specs.json: "a/b".eval_commands[1] must be a string, got 3'],
    ['packages that is not a string', { 'a/b': { packages: ['numpy'] } }, 'specs.json: "a/b".packages must be a string, got ["numpy"]'],
  ])('refuses %s, naming the file and the JSON path', (_name, value, message) => {
    expect(catchTaskError(() => parseSpecs(JSON.stringify(value), 'specs.json')).message).toBe(message);
  });

  it('refuses invalid JSON', () => {
    expect(catchTaskError(() => parseSpecs('{', 'specs.json')).message).toMatch(/^specs\.json: invalid JSON: /);
  });
});

describe('mergeSpecs and loadSpecs', () => {
  it('lets a later file replace a repo default and single versions, keeping the rest', () => {
    const base = parseSpecs(JSON.stringify(SAMPLE), 'a.json');
    const over = parseSpecs(
      JSON.stringify({
        'pytest-dev/pytest': { versions: { '5.4': { install: 'custom' } } },
        'psf/requests': { install: 'pip install .' },
        'new/repo': { install: 'make' },
      }),
      'b.json',
    );
    const merged = mergeSpecs(base, over);
    expect(specFor(merged, 'pytest-dev/pytest', '5.4')).toEqual({ install: 'custom', env: { A: '1', B: '1' }, timeouts: { clone: 100, install: 200 } });
    expect(specFor(merged, 'pytest-dev/pytest', '6.3')!.install).toBe('pip install .');
    expect(specFor(merged, 'psf/requests', null)).toEqual({ install: 'pip install .' });
    expect(specFor(merged, 'new/repo', null)).toEqual({ install: 'make' });
    // The inputs are left alone.
    expect(specFor(base, 'pytest-dev/pytest', '5.4')!.install).toBe('pip install -e .');
  });

  it('loads files in order and names a missing one', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'specs-'));
    try {
      const a = path.join(dir, 'a.json');
      const b = path.join(dir, 'b.json');
      await fs.writeFile(a, JSON.stringify({ 'x/y': { install: 'a' } }));
      await fs.writeFile(b, JSON.stringify({ 'x/y': { install: 'b' } }));
      expect(specFor(await loadSpecs([a, b]), 'x/y', null)!.install).toBe('b');
      expect(specFor(await loadSpecs([b, a]), 'x/y', null)!.install).toBe('a');
      expect((await loadSpecs([])).size).toBe(0);
      await expect(loadSpecs([a, path.join(dir, 'missing.json')])).rejects.toThrow(/cannot read specs file .*missing\.json: no such file/);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});

describe('specs/default.json', () => {
  it('parses and covers the shipped offline repos without the network', async () => {
    const specs = await loadSpecs([DEFAULT_SPECS_FILE]);
    for (const repo of ['swe-harness/statskit', 'swe-harness/frametools']) {
      expect(specFor(specs, repo, null)).toMatchObject({
        install: 'pip install --no-index --no-deps --no-build-isolation -q -e .',
        env: {},
        install_network: false,
      });
    }
  });

  it('has online examples that say they need PyPI', async () => {
    const specs = await loadSpecs([DEFAULT_SPECS_FILE]);
    expect(specFor(specs, 'psf/requests', '2.4')).toMatchObject({ install: 'pip install -e .', install_network: true });
    expect(specFor(specs, 'pallets/flask', '2.3')).toMatchObject({ install: 'pip install -e .', install_network: true });
    expect(specFor(specs, 'pytest-dev/pytest', '5.4')).toMatchObject({
      install: 'pip install -e .',
      env: { SETUPTOOLS_SCM_PRETEND_VERSION: '5.4.0' },
      install_network: true,
    });
    expect(specFor(specs, 'pytest-dev/pytest', '6.3')!.pre_install).toEqual(["sed -i 's/>=>=/>=/' setup.cfg"]);
    expect(specFor(specs, 'pallets/markupsafe', null)!.env).toEqual({ PYTHONPATH: 'src' });
    const raw = JSON.parse(await fs.readFile(DEFAULT_SPECS_FILE, 'utf8')) as Record<string, { _comment?: string }>;
    for (const repo of ['psf/requests', 'pytest-dev/pytest', 'pallets/flask']) expect(raw[repo]!._comment).toMatch(/NEEDS PyPI/);
  });
});

describe('SWE-bench fields', () => {
  const specs = parseSpecs(
    JSON.stringify({
      'o/r': {
        default: { log_parser: 'django', workdir: '/testbed', env_prelude: 'source /opt/miniconda3/bin/activate && conda activate testbed', pip_packages: ['a'] },
        versions: { '3.0': { python: '3.6', packages: 'requirements.txt', pip_packages: ['b'], eval_commands: ['export LANG=en_US.UTF-8'] } },
      },
    }),
    'specs.json',
  );

  it('reads them and merges a version over the default field by field', () => {
    expect(specFor(specs, 'o/r', '3.0')).toEqual({
      log_parser: 'django',
      workdir: '/testbed',
      env_prelude: 'source /opt/miniconda3/bin/activate && conda activate testbed',
      python: '3.6',
      packages: 'requirements.txt',
      pip_packages: ['b'],
      eval_commands: ['export LANG=en_US.UTF-8'],
    });
  });

  it('returns lists that callers may change', () => {
    specFor(specs, 'o/r', '3.0')!.eval_commands!.push('x');
    specFor(specs, 'o/r', '3.0')!.pip_packages!.push('x');
    expect(specFor(specs, 'o/r', '3.0')!.eval_commands).toEqual(['export LANG=en_US.UTF-8']);
    expect(specFor(specs, 'o/r', '3.0')!.pip_packages).toEqual(['b']);
  });
});

describe('specs/swebench.json', () => {
  const FILE = path.join(ROOT, 'specs', 'swebench.json');
  const PRELUDE = 'source /opt/miniconda3/bin/activate && conda activate testbed';

  it('parses, alone and merged over specs/default.json', async () => {
    const specs = await loadSpecs([FILE]);
    expect((await loadSpecs([DEFAULT_SPECS_FILE, FILE])).size).toBeGreaterThan(specs.size);
  });

  it.each([
    ['astropy/astropy', ['1.3', '4.3', '5.2', 'v5.3'], 'pytest_v2'],
    ['django/django', ['1.9', '2.2', '3.0', '3.2', '4.0', '4.2', '5.0'], 'django'],
    ['matplotlib/matplotlib', ['3.3', '3.5', '3.7'], 'matplotlib'],
    ['mwaskom/seaborn', ['0.11', '0.12'], 'seaborn'],
    ['pallets/flask', ['2.0', '2.3'], 'pytest'],
    ['psf/requests', ['0.13', '2.0', '2.26', '3.0'], 'pytest_options'],
    ['pydata/xarray', ['0.12', '2022.06'], 'pytest'],
    ['pylint-dev/pylint', ['2.13', '2.15', '3.0'], 'pytest_options'],
    ['pytest-dev/pytest', ['5.4', '7.0', '8.0'], 'pytest'],
    ['scikit-learn/scikit-learn', ['0.20', '0.22', '1.3'], 'pytest_v2'],
    ['sphinx-doc/sphinx', ['3.5', '4.1', '7.2'], 'pytest_v2'],
    ['sympy/sympy', ['1.0', '1.1', '1.11', '1.12', '1.13'], 'sympy'],
  ])('covers %s at %j with the %s parser, a python, install and test command', async (repo, versions, parser) => {
    const specs = await loadSpecs([FILE]);
    for (const v of versions) {
      const spec = specFor(specs, repo, v);
      expect(spec, `${repo} ${v}`).toMatchObject({ log_parser: parser, workdir: '/testbed', env_prelude: PRELUDE, install_network: true });
      expect(spec!.python).toMatch(/^3\.\d+$/);
      expect(spec!.install).toBeTruthy();
      expect(spec!.test_cmd).toBeTruthy();
    }
  });

  it('has django/django 3.0 as SWE-bench has it', async () => {
    expect(specFor(await loadSpecs([FILE]), 'django/django', '3.0')).toEqual({
      log_parser: 'django',
      workdir: '/testbed',
      env_prelude: PRELUDE,
      install_network: true,
      timeouts: { clone: 600, install: 1800, test: 1800 },
      python: '3.6',
      packages: 'requirements.txt',
      install: 'python -m pip install -e .',
      eval_commands: [
        "sed -i '/en_US.UTF-8/s/^# //g' /etc/locale.gen && locale-gen",
        'export LANG=en_US.UTF-8',
        'export LANGUAGE=en_US:en',
        'export LC_ALL=en_US.UTF-8',
      ],
      test_cmd: './tests/runtests.py --verbosity 2 --settings=test_sqlite --parallel 1',
    });
  });

  it('has sympy/sympy 1.11 as SWE-bench has it', async () => {
    expect(specFor(await loadSpecs([FILE]), 'sympy/sympy', '1.11')).toMatchObject({
      log_parser: 'sympy',
      python: '3.9',
      packages: 'mpmath flake8',
      pip_packages: ['mpmath==1.3.0', 'flake8-comprehensions'],
      install: 'python -m pip install -e .',
      test_cmd: "PYTHONWARNINGS='ignore::UserWarning,ignore::SyntaxWarning' bin/test -C --verbose",
    });
  });

  it.each([
    ['django 1.9 runs without --parallel', 'django/django', '1.9', { test_cmd: './tests/runtests.py --verbosity 2', python: '3.5', install: 'python setup.py install' }],
    ['django 5.0 uses Python 3.11', 'django/django', '5.0', { python: '3.11' }],
    ['pytest 6.3 fixes setup.cfg first', 'pytest-dev/pytest', '6.3', { pre_install: ["sed -i 's/>=>=/>=/' setup.cfg"] }],
    ['sympy 1.13 installs from requirements.txt', 'sympy/sympy', '1.13', { packages: 'requirements.txt', pip_packages: ['mpmath==1.3.0'] }],
    ['astropy 1.3 runs pytest verbosely in classic style', 'astropy/astropy', '1.3', { test_cmd: 'pytest -rA -vv -o console_output_style=classic --tb=no -p no:nose', python: '3.6' }],
    ['sphinx runs through tox', 'sphinx-doc/sphinx', '7.2', { test_cmd: 'tox --current-env -epy39 -v --' }],
    ['seaborn runs pytest without its header', 'mwaskom/seaborn', '0.12', { test_cmd: 'pytest --no-header -rA', install: 'python -m pip install -e .[dev]' }],
  ])('has %s', async (_name, repo, version, expected) => {
    expect(specFor(await loadSpecs([FILE]), repo, version)).toMatchObject(expected);
  });
});
