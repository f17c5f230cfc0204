import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_SPECS_FILE, loadSpecs, mergeSpecs, parseSpecs, specFor } from '../../scripts/lib/task/specs.js';
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
    ['an unknown key in a spec', { 'a/b': { instal: 'x' } }, 'specs.json: "a/b".instal is not a known key; allowed: image, install, env, test_cmd, pre_install, install_network, timeouts (keys starting with "_" are ignored)'],
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
