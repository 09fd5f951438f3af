import { z } from 'zod';
import { Bool, Field, Int32, Schema, Utf8 } from 'apache-arrow';
import { jsonCodec, type Codec } from './codec.js';
import { SearchTree, searchTreeArrowFields } from './searchTree.js';

/** Trees whose terminals were labelled by a named, versioned verifier; invalid trees are flagged, not dropped. */
export const VERIFIED_TREES_TOPIC = 'astro.trees.verified.v1';

export const VerifiedTree = SearchTree.extend({
  /** Verifier name@version that labelled every terminal (`nodes[i].correct`). */
  verifier: z.string().min(1),
  /** Hash of the verifier's configuration. */
  verifier_config_hash: z.string().min(1),
  /** At least one correct terminal. */
  valid: z.boolean(),
  num_correct_terminals: z.number().int().nonnegative(),
  num_incorrect_terminals: z.number().int().nonnegative(),
  /** Terminals whose verdict differs from the one recorded during search. */
  relabelled: z.number().int().nonnegative(),
});
export type VerifiedTree = z.infer<typeof VerifiedTree>;

export const VerifiedTreeArrow = new Schema([
  ...searchTreeArrowFields,
  new Field('verifier', new Utf8(), false),
  new Field('verifier_config_hash', new Utf8(), false),
  new Field('valid', new Bool(), false),
  new Field('num_correct_terminals', new Int32(), false),
  new Field('num_incorrect_terminals', new Int32(), false),
  new Field('relabelled', new Int32(), false),
]);

export const VerifiedTreeCodec: Codec<VerifiedTree> = jsonCodec(VerifiedTree, 'verified_tree');
