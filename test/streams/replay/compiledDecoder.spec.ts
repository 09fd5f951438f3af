import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { SearchTree, SearchTreeCodec } from '../../../schemas/searchTree.js';
import { VerifiedTree, VerifiedTreeCodec } from '../../../schemas/verifiedTree.js';
import { compiledDecoder, compileSchemaCheck } from '../../../streams/replay/compiledDecoder.js';
import { arbSearchTree, arbVerifiedTree } from '../../helpers/arbitraries.js';

const bytesOf = (value: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(value));
type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Every path (keys and indexes) into a JSON value, the root included. */
function pathsOf(value: Json, prefix: (string | number)[] = []): (string | number)[][] {
  const out = [prefix];
  if (Array.isArray(value)) value.forEach((v, i) => out.push(...pathsOf(v, [...prefix, i])));
  else if (value !== null && typeof value === 'object') for (const [k, v] of Object.entries(value)) out.push(...pathsOf(v, [...prefix, k]));
  return out;
}

type Mutation = { kind: 'set'; value: Json } | { kind: 'delete' } | { kind: 'extra'; key: string; value: Json } | { kind: 'reverse' };

const arbMutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('set' as const), value: fc.oneof(fc.jsonValue() as fc.Arbitrary<Json>, fc.constantFrom<Json>(-1, -0.5, 0, 0.5, 1, 1.5, 2 ** 53, -(2 ** 60), '', 'x', true, null, [], {})) }),
  fc.record({ kind: fc.constant('delete' as const) }),
  fc.record({ kind: fc.constant('extra' as const), key: fc.constantFrom('extra', '__proto__', 'id', 'nodes', 'toString'), value: fc.jsonValue() as fc.Arbitrary<Json> }),
  fc.record({ kind: fc.constant('reverse' as const) }),
);

/** Applies one mutation at the `pick`-th path of a copy of `value` (via JSON text, so `__proto__` stays an own key). */
function mutate(value: unknown, pick: number, m: Mutation): string {
  const root = JSON.parse(JSON.stringify(value)) as Json;
  const paths = pathsOf(root);
  const path = paths[pick % paths.length] ?? [];
  if (path.length === 0 && m.kind !== 'extra' && m.kind !== 'reverse') return m.kind === 'set' ? JSON.stringify(m.value) : '';
  let parent: Json = root;
  for (const key of path.slice(0, -1)) parent = (parent as Record<string | number, Json>)[key] as Json;
  const last = path[path.length - 1];
  const target = last === undefined ? root : (parent as Record<string | number, Json>)[last];
  const write = (next: Json): void => {
    if (last !== undefined) (parent as Record<string | number, Json>)[last] = next;
  };
  switch (m.kind) {
    case 'set':
      write(m.value);
      break;
    case 'delete':
      if (Array.isArray(parent) && typeof last === 'number') parent.splice(last, 1);
      else if (last !== undefined) delete (parent as Record<string, Json>)[last];
      break;
    case 'extra':
      if (target !== null && typeof target === 'object' && !Array.isArray(target)) {
        // Spliced into the text so a `__proto__` key is a real own key of the parsed object.
        const text = JSON.stringify(root);
        const inner = JSON.stringify(target);
        const withKey = inner === '{}' ? `{${JSON.stringify(m.key)}:${JSON.stringify(m.value)}}` : `{${JSON.stringify(m.key)}:${JSON.stringify(m.value)},${inner.slice(1)}`;
        return text.replace(inner, withKey);
      }
      break;
    case 'reverse':
      if (target !== null && typeof target === 'object' && !Array.isArray(target)) {
        const reversed = Object.fromEntries(Object.entries(target).reverse()) as Json;
        if (last === undefined) return JSON.stringify(reversed);
        write(reversed);
      }
      break;
  }
  return JSON.stringify(root);
}

/** The compiled decoder and the codec agree: same value (same key order) or the same error. */
function expectSameResult<S extends z.ZodType>(schema: S, codec: { decode(b: Uint8Array): unknown }, bytes: Uint8Array): boolean {
  const fast = compiledDecoder(schema, codec as never)(bytes) as { ok: boolean; value?: unknown; error?: { kind: string; message: string } };
  const slow = codec.decode(bytes) as { ok: boolean; value?: unknown; error?: { kind: string; message: string } };
  expect(fast.ok).toBe(slow.ok);
  if (slow.ok) expect(JSON.stringify(fast.value)).toBe(JSON.stringify(slow.value));
  else expect({ kind: fast.error?.kind, message: fast.error?.message }).toEqual({ kind: slow.error?.kind, message: slow.error?.message });
  return slow.ok;
}

describe('compiledDecoder', () => {
  it('compiles the tree schemas (so the fast path is really taken)', () => {
    const tree = compileSchemaCheck(SearchTree);
    const verified = compileSchemaCheck(VerifiedTree);
    expect(tree).not.toBeNull();
    expect(verified).not.toBeNull();
    fc.assert(
      fc.property(arbSearchTree, arbVerifiedTree, (t, v) => {
        expect(tree?.(JSON.parse(JSON.stringify(SearchTree.parse(t))))).toBe(true);
        expect(verified?.(JSON.parse(JSON.stringify(VerifiedTree.parse(v))))).toBe(true);
      }),
      { numRuns: 100 },
    );
  });

  it('decodes valid trees exactly like the codec', () => {
    fc.assert(
      fc.property(arbSearchTree, (t) => {
        expect(expectSameResult(SearchTree, SearchTreeCodec, SearchTreeCodec.encode(t))).toBe(true);
      }),
      { numRuns: 100 },
    );
  });

  it('agrees with the codec on mutated search trees (value or error and reason)', () => {
    let rejected = 0;
    fc.assert(
      fc.property(arbSearchTree, fc.nat(), arbMutation, (t, pick, m) => {
        if (!expectSameResult(SearchTree, SearchTreeCodec, new TextEncoder().encode(mutate(t, pick, m)))) rejected += 1;
      }),
      { numRuns: 600 },
    );
    // The mutations must exercise the rejecting side, not only harmless edits.
    expect(rejected).toBeGreaterThan(100);
  });

  it('agrees with the codec on mutated verified trees', () => {
    fc.assert(
      fc.property(arbVerifiedTree, fc.nat(), arbMutation, (t, pick, m) => {
        expectSameResult(VerifiedTree, VerifiedTreeCodec, new TextEncoder().encode(mutate(t, pick, m)));
      }),
      { numRuns: 300 },
    );
  });

  it('agrees with the codec on bytes that are not trees', () => {
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 64 }), fc.jsonValue().map(bytesOf), fc.string().map((s) => new TextEncoder().encode(s))), (bytes) => {
        expect(expectSameResult(SearchTree, SearchTreeCodec, bytes)).toBe(false);
      }),
      { numRuns: 300 },
    );
    expect(expectSameResult(SearchTree, SearchTreeCodec, new Uint8Array([0xff, 0xfe, 0x7b]))).toBe(false);
  });

  it('returns the value zod returns for reordered keys and unknown keys (stripped, schema order)', () => {
    fc.assert(
      fc.property(arbSearchTree, (t) => {
        const reordered = Object.fromEntries([['extra', 1], ...Object.entries(t).reverse()]);
        const fast = compiledDecoder(SearchTree, SearchTreeCodec)(bytesOf(reordered));
        expect(fast.ok).toBe(true);
        if (fast.ok) expect(JSON.stringify(fast.value)).toBe(JSON.stringify(SearchTree.parse(t)));
      }),
      { numRuns: 50 },
    );
  });

  it('falls back to the codec for schema features it does not compile', () => {
    const strict = z.strictObject({ a: z.number() });
    expect(compileSchemaCheck(strict)).toBeNull();
    expect(compileSchemaCheck(z.object({ a: z.number().multipleOf(2) }))).toBeNull();
    const checked = compileSchemaCheck(z.object({ a: z.number().int().min(-1), b: z.string().min(2).optional(), c: z.array(z.boolean()).min(1) }));
    expect(checked?.({ a: -1, c: [true] })).toBe(true);
    expect(checked?.({ a: -2, c: [true] })).toBe(false);
    expect(checked?.({ a: 0.5, c: [true] })).toBe(false);
    expect(checked?.({ a: 0, b: 'x', c: [true] })).toBe(false);
    expect(checked?.({ a: 0, b: 'xy', c: [] })).toBe(false);
    expect(checked?.({ c: [true], a: 0 })).toBe(false);
    expect(checked?.({ a: 0, c: [true], d: 1 })).toBe(false);
    const enums = compileSchemaCheck(z.object({ rule: z.enum(['paper', 'legacy']).optional() }));
    expect([{}, { rule: 'paper' }, { rule: 'legacy' }, { rule: 'other' }, { rule: 1 }].map((x) => enums?.(x))).toEqual([true, true, true, false, false]);
  });
});
