import type { Trace } from '../../../schemas/trace.js';
import { Trace as TraceSchema } from '../../../schemas/trace.js';
import { stableId } from '../../../operators/common/hash.js';

/** Deterministic pseudo-random ints (mulberry32), so fixtures are identical across runs. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Countdown-style traces shaped like the linearizer's output: a few KB of step text with
 * reflections and backtracks, a boxed answer, chat messages and node paths. `targetBytes` sets
 * the approximate completion size.
 */
export function makeTraces(count: number, options: { seed?: number; targetBytes?: number; startMs?: number } = {}): Trace[] {
  const rand = prng(options.seed ?? 1);
  const int = (lo: number, hi: number): number => lo + Math.floor(rand() * (hi - lo + 1));
  const targetBytes = options.targetBytes ?? 3000;
  const out: Trace[] = [];
  for (let i = 0; i < count; i++) {
    const numbers = Array.from({ length: int(3, 6) }, () => int(1, 100));
    const target = int(10, 999);
    const problem = { id: `cd-${i}`, domain: 'countdown', source: 'countdown-generator', question: `Use ${numbers.join(', ')} to make ${target}.`, answer: String(target), numbers, target, difficulty: numbers.length };
    const prompt = `Using the numbers [${numbers.join(', ')}], create an equation that equals ${target}. Each number may be used at most once. Put the final answer in \\boxed{}.`;
    const steps: string[] = [];
    let backtracks = 0;
    let reflections = 0;
    let step = 1;
    for (let size = 0; size < targetBytes; size = steps.reduce((n, x) => n + x.length + 2, 0)) {
      const a = int(1, 100);
      const b = int(1, 100);
      steps.push(`Step ${step++}: ${a} × ${b} = ${a * b}. Remaining: ${numbers.slice(0, 3).join(', ')}, ${a * b}.`);
      if (rand() < 0.25) {
        reflections++;
        steps.push(`Wait, this doesn't reach ${target} — let me re-check: ${a * b} − ${target} = ${a * b - target} ≠ 0.`);
        if (rand() < 0.6) {
          backtracks++;
          steps.push(`Let's go back to Step ${Math.max(1, step - 2)} and try a different combination.`);
        }
      }
    }
    steps.push(`Therefore the answer is \\boxed{${target}}. 答え ✓`);
    const completion = steps.join('\n\n');
    const tree_id = stableId('tree', problem.id, 7);
    const variant = (['search', 'direct', 'direct_ablation'] as const)[i % 3] ?? 'search';
    out.push({
      trace_id: stableId('trace', tree_id, 'cfg', i),
      tree_id,
      problem_id: problem.id,
      domain: 'countdown',
      source: 'countdown-generator',
      problem_json: JSON.stringify(problem),
      prompt,
      completion,
      messages: [
        { role: 'user', content: prompt },
        { role: 'assistant', content: completion },
      ],
      answer: String(target),
      correct: i % 7 !== 3,
      variant,
      k: backtracks > 0 ? int(1, 3) : 0,
      num_backtracks: backtracks,
      num_reflections: reflections,
      node_path: Array.from({ length: int(1, 12) }, () => int(0, 400)),
      policy_version: 'countdown-pvnet@3',
      linearizer: 'astro-linearizer@1',
      linearizer_config_hash: 'a1b2c3d4e5f60718',
      verifier: 'countdown-verifier@1',
      created_at: (options.startMs ?? 1_764_000_000_000) + i * 1_001,
    });
  }
  // Fixtures must satisfy the contract, or the read-back assertions prove nothing.
  return out.map((t) => TraceSchema.parse(t));
}
