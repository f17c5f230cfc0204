import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { appendPrediction, formatPredsDict, loadPredictions, parsePredictions, type Prediction } from '../../scripts/lib/task/predictions.js';
import { catchTaskError } from '../support/helpers.js';


const PATCH = 'diff --git a/requests/sessions.py b/requests/sessions.py\n--- a/requests/sessions.py\n+++ b/requests/sessions.py\n@@ -1 +1 @@\n-a\n+b\n';
const A: Prediction = { instance_id: 'psf__requests-2317', model_name_or_path: 'gpt-x', model_patch: PATCH };
const B: Prediction = { instance_id: 'astropy__astropy-12907', model_name_or_path: 'gpt-x', model_patch: '' };

const JSONL = `${JSON.stringify(A)}\n\n${JSON.stringify({ ...B, model_patch: null, cost: 0.12 })}\n`;
const LIST = JSON.stringify([A, { ...B, model_patch: null }], null, 2);
/** As mini-swe-agent writes preds.json (json.dumps(indent=2)). */
const DICT = JSON.stringify(
  {
    [A.instance_id]: { model_name_or_path: 'gpt-x', instance_id: A.instance_id, model_patch: PATCH },
    [B.instance_id]: { model_name_or_path: 'gpt-x', instance_id: B.instance_id, model_patch: '' },
  },
  null,
  2,
);

describe('parsePredictions', () => {
  it.each([
    ['JSON Lines', JSONL],
    ['a JSON list', LIST],
    ['the preds.json dict of mini-swe-agent', DICT],
  ])('reads %s, keeping an empty or null patch as ""', (_name, text) => {
    const preds = parsePredictions(text, 'preds');
    expect([...preds.keys()]).toEqual([A.instance_id, B.instance_id]);
    expect(preds.get(A.instance_id)).toEqual(A);
    expect(preds.get(B.instance_id)).toEqual(B);
  });

  it('reads a JSON Lines file with a single row', () => {
    expect([...parsePredictions(JSON.stringify(A), 'p.jsonl').values()]).toEqual([A]);
  });

  it('reads a dict row without instance_id from its key, and fills a missing model name and patch', () => {
    const preds = parsePredictions(JSON.stringify({ [A.instance_id]: {} }), 'preds.json');
    expect(preds.get(A.instance_id)).toEqual({ instance_id: A.instance_id, model_name_or_path: '', model_patch: '' });
  });

  it('reads an empty dict and an empty file as no predictions', () => {
    expect(parsePredictions('{}', 'preds.json').size).toBe(0);
    expect(parsePredictions('', 'preds.jsonl').size).toBe(0);
  });

  it.each([
    ['JSON Lines', `${JSON.stringify(A)}\n${JSON.stringify(B)}\n${JSON.stringify(A)}`, `p:3: duplicate prediction for "${A.instance_id}" (first at p:1)`],
    ['a JSON list', JSON.stringify([A, B, A]), `p[2]: duplicate prediction for "${A.instance_id}" (first at p[0])`],
  ])('refuses duplicates in %s, naming both positions', (_name, text, message) => {
    expect(catchTaskError(() => parsePredictions(text, 'p')).message).toBe(message);
  });

  it.each([
    ['a row without instance_id', `${JSON.stringify(A)}\n${JSON.stringify({ model_patch: '' })}`, 'p.jsonl:2: field "instance_id" is required (a non-empty string), got nothing'],
    ['a bad instance_id', JSON.stringify({ ...A, instance_id: 'a/b' }), 'p.jsonl:1: field "instance_id" may only contain letters, digits, ".", "_" and "-" (and not only dots), got "a/b"'],
    ['a patch that is not text', JSON.stringify({ ...A, model_patch: ['x'] }), 'p.jsonl:1: field "model_patch" must be a string or null, got ["x"]'],
    ['a model name that is not text', JSON.stringify({ ...A, model_name_or_path: 1 }), 'p.jsonl:1: field "model_name_or_path" must be a string, got 1'],
    ['a dict key that differs from its instance_id', JSON.stringify({ other__x: A }), `p.jsonl["other__x"]: field "instance_id" must equal its key "other__x", got "${A.instance_id}"`],
    ['a dict value that is not an object', JSON.stringify({ [A.instance_id]: 'patch' }), `p.jsonl["${A.instance_id}"]: expected a JSON object, got a string`],
    ['a list item that is not an object', '[1]', 'p.jsonl[0]: expected a JSON object, got a number'],
  ])('refuses %s, naming the file and the line or key', (_name, text, message) => {
    expect(catchTaskError(() => parsePredictions(text, 'p.jsonl')).message).toBe(message);
  });

  it('names the line of invalid JSON', () => {
    expect(catchTaskError(() => parsePredictions(`${JSON.stringify(A)}\n{oops`, 'p.jsonl')).message).toMatch(/^p\.jsonl:2: invalid JSON: /);
  });
});

describe('appendPrediction and loadPredictions', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'preds-'));
  });
  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('creates the file, appends in insertion order, replaces in place, and reads back', async () => {
    const file = path.join(dir, 'sub', 'preds.json');
    appendPrediction(file, A);
    appendPrediction(file, B);
    const C = { instance_id: 'django__django-11099', model_name_or_path: 'm', model_patch: 'x' };
    appendPrediction(file, C);
    appendPrediction(file, { ...A, model_patch: 'second try' });
    const preds = await loadPredictions(file);
    expect([...preds.keys()]).toEqual([A.instance_id, B.instance_id, C.instance_id]);
    expect(preds.get(A.instance_id)!.model_patch).toBe('second try');
    // The layout mini-swe-agent writes, readable as plain JSON.
    const raw = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
    expect(raw[B.instance_id]).toEqual({ model_name_or_path: 'gpt-x', instance_id: B.instance_id, model_patch: '' });
    expect(fs.readdirSync(path.dirname(file))).toEqual(['preds.json']); // no temp files left
  });

  it('writes json.dumps(indent=2) layout', () => {
    expect(formatPredsDict(new Map([[B.instance_id, B]]))).toBe(
      `{\n  "${B.instance_id}": {\n    "model_name_or_path": "gpt-x",\n    "instance_id": "${B.instance_id}",\n    "model_patch": ""\n  }\n}\n`,
    );
    expect(formatPredsDict(new Map())).toBe('{}\n');
  });

  it('adds to an existing preds.json written by mini-swe-agent, and to an empty file', async () => {
    const file = path.join(dir, 'preds.json');
    fs.writeFileSync(file, DICT);
    appendPrediction(file, { instance_id: 'new__one-1', model_name_or_path: 'm', model_patch: '' });
    expect([...(await loadPredictions(file)).keys()]).toEqual([A.instance_id, B.instance_id, 'new__one-1']);
    const empty = path.join(dir, 'empty.json');
    fs.writeFileSync(empty, '');
    appendPrediction(empty, A);
    expect([...(await loadPredictions(empty)).values()]).toEqual([A]);
  });

  it.each([
    ['broken JSON', '{"a": ', /^refusing to overwrite .*preds\.json: not a predictions dict \(invalid JSON: /],
    ['JSON Lines', JSONL, /^refusing to overwrite .*preds\.json: not a predictions dict \(invalid JSON: /],
    ['a JSON list', LIST, /^refusing to overwrite .*preds\.json: not a predictions dict \(\{"<instance_id>": \{\.\.\.\}\}\), got an array$/],
    ['a single prediction row', JSON.stringify(A), /^refusing to overwrite .*preds\.json: not a predictions dict .*, got an object holding one prediction row$/],
    ['a dict with a bad row', JSON.stringify({ [A.instance_id]: 3 }), /^refusing to overwrite .*preds\.json: .*preds\.json\["psf__requests-2317"\]: expected a JSON object, got a number$/],
  ])('refuses to overwrite a file holding %s and leaves it unchanged', (_name, content, message) => {
    const file = path.join(dir, 'preds.json');
    fs.writeFileSync(file, content);
    expect(catchTaskError(() => appendPrediction(file, B)).message).toMatch(message);
    expect(fs.readFileSync(file, 'utf8')).toBe(content);
    expect(fs.readdirSync(dir)).toEqual(['preds.json']);
  });

  it('refuses a prediction with a bad instance id', () => {
    const file = path.join(dir, 'preds.json');
    expect(catchTaskError(() => appendPrediction(file, { ...A, instance_id: '../x' })).message).toMatch(/field "instance_id" may only contain/);
    expect(fs.existsSync(file)).toBe(false);
  });

  it('names a missing predictions file', async () => {
    await expect(loadPredictions(path.join(dir, 'nope.json'))).rejects.toThrow(/cannot read predictions file .*nope\.json: no such file/);
  });
});
