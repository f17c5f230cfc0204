/**
 * Small value helpers shared by every layer: how a value reads in a message,
 * rounding for records, stable JSON for keys, hashes.
 */
import { createHash } from 'node:crypto';
import { HarnessError } from './errors.js';

/** A value as it appears in messages: JSON, shortened. */
export function showValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  let s: string;
  try {
    s = JSON.stringify(value) ?? String(value);
  } catch {
    s = String(value);
  }
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

/** "an array", "a string", "null"... */
export function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/** The one shape of an input-file error: `<where>: field "<field>" <what>, got <value>` (HarnessError 'task'). */
export function failField(where: string, field: string, what: string, value: unknown): never {
  throw new HarnessError('task', `${where}: field "${field}" ${what}, got ${showValue(value)}`);
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Hex SHA-256 of a text (UTF-8) or bytes, for recording which patch ran. */
export function sha256(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Seconds rounded to hundredths: every duration in a record. */
export function round2(s: number): number {
  return Math.round(s * 100) / 100;
}

/** Seconds since a `performance.now()` reading, rounded for a record. */
export function durationS(startedMs: number): number {
  return round2((performance.now() - startedMs) / 1000);
}

/** JSON with object keys sorted at every depth: equal values give equal text (for cache keys). */
export function stableJson(v: unknown): string {
  return JSON.stringify(sortKeys(v));
}

/** A copy with object keys sorted at every depth. */
export function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === 'object') {
    return Object.fromEntries(
      Object.entries(v as Record<string, unknown>)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([k, x]) => [k, sortKeys(x)]),
    );
  }
  return v;
}
