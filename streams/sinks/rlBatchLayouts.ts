import type { SchemaElement } from 'hyparquet';
import { grpoAdvantages } from '../../operators/rl/grpoAdvantages.js';
import type { RolloutGroup } from '../../schemas/rolloutGroup.js';
import type { ParquetTableSpec } from './traceParquetSchema.js';

const utf8 = (name: string): SchemaElement => ({ name, type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' });
const float64 = (name: string): SchemaElement => ({ name, type: 'DOUBLE', repetition_type: 'OPTIONAL' });
const int64 = (name: string): SchemaElement => ({ name, type: 'INT64', repetition_type: 'OPTIONAL' });
const struct = (name: string, children: readonly SchemaElement[]): SchemaElement[] => [{ name, repetition_type: 'OPTIONAL', num_children: children.length }, ...children];

/** One row of verl's RL dataset layout (one per prompt: verl samples the completions itself). */
export interface VerlRow {
  readonly data_source: string;
  /** Chat messages; verl applies the model's chat template to them. */
  readonly prompt: readonly { readonly role: string; readonly content: string }[];
  readonly ability: string;
  /** `style: rule` — verl's rule-based reward function compares against `ground_truth`. */
  readonly reward_model: { readonly style: string; readonly ground_truth: string };
  readonly extra_info: { readonly split: string; readonly index: bigint; readonly problem_id: string; readonly group_id: string; readonly policy_version: string };
}

/** One row of the TRL-style layout (one per sampled completion, with its GRPO advantage). */
export interface TrlRow {
  readonly prompt: string;
  readonly completion: string;
  readonly reward: number;
  /** Group-normalized; 0 for groups whose rewards are all equal (no signal). */
  readonly advantage: number;
  readonly policy_version: string;
  readonly group_id: string;
}

const verlColumns: readonly (readonly [keyof VerlRow, readonly SchemaElement[]])[] = [
  ['data_source', [utf8('data_source')]],
  [
    'prompt',
    [
      { name: 'prompt', repetition_type: 'OPTIONAL', converted_type: 'LIST', num_children: 1 },
      { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
      ...struct('element', [utf8('role'), utf8('content')]),
    ],
  ],
  ['ability', [utf8('ability')]],
  ['reward_model', struct('reward_model', [utf8('style'), utf8('ground_truth')])],
  ['extra_info', struct('extra_info', [utf8('split'), int64('index'), utf8('problem_id'), utf8('group_id'), utf8('policy_version')])],
];

const trlColumns: readonly (readonly [keyof TrlRow, readonly SchemaElement[]])[] = [
  ['prompt', [utf8('prompt')]],
  ['completion', [utf8('completion')]],
  ['reward', [float64('reward')]],
  ['advantage', [float64('advantage')]],
  ['policy_version', [utf8('policy_version')]],
  ['group_id', [utf8('group_id')]],
];

const table = <R>(columns: readonly (readonly [keyof R, readonly SchemaElement[]])[]): ParquetTableSpec => ({
  schema: [{ name: 'root', num_children: columns.length }, ...columns.flatMap(([, e]) => e)],
  columns: columns.map(([name]) => String(name)),
});

/** verl RL layout (`data.train_files` of verl's PPO/GRPO trainer). */
export const VERL_RL_TABLE: ParquetTableSpec = table<VerlRow>(verlColumns);
/** TRL-style layout: prompt, completion, reward, advantage, policy_version (+ group_id). */
export const TRL_TABLE: ParquetTableSpec = table<TrlRow>(trlColumns);

/** verl rows of a batch of groups: one per group (prompt), `index` counting from `firstIndex`. */
export function toVerlRows(groups: readonly RolloutGroup[], firstIndex: number, split = 'train'): VerlRow[] {
  return groups.map((g, i) => ({
    data_source: `astro-stream/${g.domain}`,
    prompt: [{ role: 'user', content: g.prompt }],
    ability: g.domain === 'countdown' ? 'countdown' : 'math',
    reward_model: { style: 'rule', ground_truth: g.ground_truth },
    extra_info: { split, index: BigInt(firstIndex + i), problem_id: g.problem_id, group_id: g.group_id, policy_version: g.policy_version },
  }));
}

/** TRL rows of a batch of groups: one per sample, with its GRPO advantage. */
export function toTrlRows(groups: readonly RolloutGroup[]): TrlRow[] {
  return groups.flatMap((g) => {
    const adv = grpoAdvantages(g.samples.map((s) => s.reward));
    return g.samples.map((s, k) => ({
      prompt: g.prompt,
      completion: s.completion,
      reward: s.reward,
      advantage: adv.skipped ? 0 : (adv.advantages[k] ?? 0),
      policy_version: g.policy_version,
      group_id: g.group_id,
    }));
  });
}
