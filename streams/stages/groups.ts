/** Consumer group ids of the stages: one group per stage, scale out by adding members. */
export const STAGE_GROUPS = {
  search: 'astro.search',
  verify: 'astro.verify',
  linearize: 'astro.linearize',
  sinkTraces: 'astro.sink.traces',
  sinkTrees: 'astro.sink.trees',
  trainer: 'astro.trainer',
} as const;
