import fc from 'fast-check';
import { DataType, type Field, type List, type Schema, type Struct } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { readIpcFile, recordsToTable, tableToRecords, writeIpcFile } from '../../schemas/arrow.js';
import type { Codec } from '../../schemas/codec.js';
import { DeadLetter, DeadLetterArrow, DeadLetterCodec } from '../../schemas/deadLetter.js';
import { PolicyVersion, PolicyVersionArrow, PolicyVersionCodec } from '../../schemas/policyVersion.js';
import { Problem, ProblemArrow, ProblemCodec } from '../../schemas/problem.js';
import { RolloutGroup, RolloutGroupArrow, RolloutGroupCodec } from '../../schemas/rolloutGroup.js';
import { SearchTree, SearchTreeArrow, SearchTreeCodec } from '../../schemas/searchTree.js';
import { Trace, TraceArrow, TraceCodec } from '../../schemas/trace.js';
import { VerifiedTree, VerifiedTreeArrow, VerifiedTreeCodec } from '../../schemas/verifiedTree.js';
import {
  arbDeadLetter,
  arbPolicyVersion,
  arbProblem,
  arbRolloutGroup,
  arbSearchTree,
  arbTrace,
  arbVerifiedTree,
} from '../helpers/arbitraries.js';

interface ZodDef {
  readonly type: string;
  readonly innerType?: z.ZodType;
  readonly element?: z.ZodType;
  readonly shape?: Record<string, z.ZodType>;
}
const defOf = (schema: z.ZodType): ZodDef => (schema as unknown as { def: ZodDef }).def;

/** Compares a zod type with an Arrow field; returns disagreements as readable paths. */
function compareField(path: string, zodType: z.ZodType, field: Field): string[] {
  let type = zodType;
  let optional = false;
  let nullable = false;
  for (;;) {
    const def = defOf(type);
    if (def.type === 'optional') optional = true;
    else if (def.type === 'nullable') nullable = true;
    else break;
    type = def.innerType as z.ZodType;
  }
  const problems: string[] = [];
  if (field.nullable !== (optional || nullable)) problems.push(`${path}: nullable ${field.nullable} but zod optional=${optional} nullable=${nullable}`);
  const kind = field.metadata.get('nullable_kind');
  if (nullable && kind !== 'null') problems.push(`${path}: zod .nullable() needs nullable_kind=null metadata`);
  if (optional && kind !== 'optional') problems.push(`${path}: zod .optional() needs nullable_kind=optional metadata`);
  const def = defOf(type);
  const arrow = field.type as DataType;
  switch (def.type) {
    case 'string':
    case 'enum':
      if (!DataType.isUtf8(arrow)) problems.push(`${path}: zod ${def.type} but Arrow ${String(arrow)}`);
      break;
    case 'boolean':
      if (!DataType.isBool(arrow)) problems.push(`${path}: zod boolean but Arrow ${String(arrow)}`);
      break;
    case 'number': {
      const isInt = (type as unknown as { isInt: boolean }).isInt;
      const ok = DataType.isTimestamp(arrow) || DataType.isFloat(arrow) || (isInt && DataType.isInt(arrow));
      if (!ok) problems.push(`${path}: zod number(int=${isInt}) but Arrow ${String(arrow)}`);
      if (DataType.isTimestamp(arrow) && !/_at$/.test(field.name)) problems.push(`${path}: only *_at fields are timestamps`);
      break;
    }
    case 'array':
      if (!DataType.isList(arrow)) problems.push(`${path}: zod array but Arrow ${String(arrow)}`);
      else problems.push(...compareField(`${path}[]`, def.element as z.ZodType, (arrow as List).children[0] as Field));
      break;
    case 'object':
      if (!DataType.isStruct(arrow)) problems.push(`${path}: zod object but Arrow ${String(arrow)}`);
      else problems.push(...compareShape(path, def.shape as Record<string, z.ZodType>, (arrow as Struct).children));
      break;
    default:
      problems.push(`${path}: zod type ${def.type} has no Arrow mapping`);
  }
  return problems;
}

function compareShape(path: string, shape: Record<string, z.ZodType>, fields: readonly Field[]): string[] {
  const problems: string[] = [];
  const byName = new Map(fields.map((f) => [f.name, f]));
  for (const [name, zodType] of Object.entries(shape)) {
    const field = byName.get(name);
    if (field === undefined) problems.push(`${path}.${name}: in zod, missing in Arrow`);
    else problems.push(...compareField(`${path}.${name}`, zodType, field));
  }
  for (const f of fields) if (!(f.name in shape)) problems.push(`${path}.${f.name}: in Arrow, missing in zod`);
  return problems;
}

const compareSchemas = (name: string, zod: z.ZodType, arrow: Schema): string[] =>
  compareShape(name, defOf(zod).shape as Record<string, z.ZodType>, arrow.fields);

interface Case {
  readonly name: string;
  readonly zod: z.ZodType;
  readonly arrow: Schema;
  readonly codec: Codec<unknown>;
  readonly arb: fc.Arbitrary<unknown>;
}

const cases: Case[] = [
  { name: 'problem', zod: Problem, arrow: ProblemArrow, codec: ProblemCodec as Codec<unknown>, arb: arbProblem },
  { name: 'tree', zod: SearchTree, arrow: SearchTreeArrow, codec: SearchTreeCodec as Codec<unknown>, arb: arbSearchTree },
  { name: 'verified_tree', zod: VerifiedTree, arrow: VerifiedTreeArrow, codec: VerifiedTreeCodec as Codec<unknown>, arb: arbVerifiedTree },
  { name: 'trace', zod: Trace, arrow: TraceArrow, codec: TraceCodec as Codec<unknown>, arb: arbTrace },
  { name: 'rollout_group', zod: RolloutGroup, arrow: RolloutGroupArrow, codec: RolloutGroupCodec as Codec<unknown>, arb: arbRolloutGroup },
  { name: 'policy_version', zod: PolicyVersion, arrow: PolicyVersionArrow, codec: PolicyVersionCodec as Codec<unknown>, arb: arbPolicyVersion },
  { name: 'dead_letter', zod: DeadLetter, arrow: DeadLetterArrow, codec: DeadLetterCodec as Codec<unknown>, arb: arbDeadLetter },
];

describe.each(cases)('schema $name', ({ name, zod, arrow, codec, arb }) => {
  it('zod and Arrow agree field by field', () => {
    expect(compareSchemas(name, zod, arrow)).toEqual([]);
  });

  it('arbitrary records are valid for the zod schema', () => {
    fc.assert(fc.property(arb, (value) => zod.safeParse(value).success), { numRuns: 50 });
  });

  it('codec round-trips', () => {
    fc.assert(
      fc.property(arb, (value) => {
        const decoded = codec.decode(codec.encode(value));
        expect(decoded).toEqual({ ok: true, value });
      }),
      { numRuns: 50 },
    );
  });

  it('Arrow IPC round-trips', () => {
    fc.assert(
      fc.property(fc.array(arb, { maxLength: 5 }), (values) => {
        const bytes = writeIpcFile(recordsToTable(arrow, values as object[]));
        expect(tableToRecords(readIpcFile(bytes))).toEqual(values);
      }),
      { numRuns: 25 },
    );
  });

  it('decode never throws and names the problem', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        const result = codec.decode(bytes);
        if (!result.ok) expect(['decode', 'schema']).toContain(result.error.kind);
      }),
      { numRuns: 100 },
    );
    const bad = codec.decode(new TextEncoder().encode('{"nope": 1'));
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.error.kind).toBe('decode');
  });
});

describe('codec reasons', () => {
  it('names the failing field paths', () => {
    const bytes = new TextEncoder().encode(JSON.stringify({ id: 'p1', domain: 'countdown', source: 's', question: 'q', answer: '1', numbers: [1, 2.5] }));
    const result = ProblemCodec.decode(bytes);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.error.kind).toBe('schema');
      expect(result.error.message).toContain('problem.numbers[1]');
      expect(result.error.retriable).toBe(false);
    }
  });

  it('rejects invalid UTF-8 as a decode error', () => {
    const result = TraceCodec.decode(new Uint8Array([0xff, 0xfe, 0x7b]));
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error.kind).toBe('decode');
  });

  it('the agreement check catches a missing Arrow field', () => {
    const problems = compareSchemas('problem', Problem, SearchTreeArrow);
    expect(problems.length).toBeGreaterThan(0);
  });
});
