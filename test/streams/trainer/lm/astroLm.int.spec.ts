import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { judgeCountdown } from '../../../../domains/countdown/verifier.js';
import { PolicyVersionCodec, POLICY_TOPIC, type PolicyVersion } from '../../../../schemas/policyVersion.js';
import { topicSpec } from '../../../../schemas/topics.js';
import { LLAMA3_TEMPLATE, renderPrompt } from '../../../../streams/policies/openai/promptTemplate.js';
import { freeLoopbackPorts } from '../../../../streams/common/localProcesses.js';
import { createKafkaTransport } from '../../../../streams/transport/kafka/kafkaTransport.js';
import { astroLm, ok, python, sha256 } from '../../../helpers/astroLm.js';
import { runCli } from '../../../helpers/cli.js';
import { startTestKafka, type TestKafka } from '../../../helpers/kafka.js';

// The Python trainer consumer (streams/trainer/lm) on a real `run` output, a tiny budget each.
async function postJson(url: string, body: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  expect(res.status, await res.clone().text()).toBe(200);
  return (await res.json()) as Record<string, unknown>;
}

describe('astro_lm: language-model trainer consumer', () => {
  let dir: string;
  let kafka: TestKafka;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'astro-lm-'));
    const run = await runCli(['run', '--numbers', '3', '--ablation', '--problems', '40', '--seed', '5', '--out', join(dir, 'data')], { timeoutMs: 300_000 });
    expect(run.code, run.stderr).toBe(0);
    const train = await runCli(['run', '--train', '--minutes', '0.2', '--rl-groups', '2', '--numbers', '3', '--out', join(dir, 'rlrun')], { timeoutMs: 300_000 });
    expect(train.code, train.stderr).toBe(0);
    kafka = await startTestKafka({ nodes: 1 });
  }, 600_000);

  afterAll(async () => {
    await kafka?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('trains a tokenizer on the traces that turns the shared prompt boilerplate into whole tokens', () => {
    const tok = ok(astroLm(['tokenizer', '--traces', join(dir, 'data', 'traces'), '--vocab-size', '600', '--out', join(dir, 'tok')]));
    expect(tok.vocab_size).toBe(600);
    expect((tok.phrases as string[]).some((p) => p.includes('each number at most once'))).toBe(true);
    const plain = ok(astroLm(['tokenizer', '--traces', join(dir, 'data', 'traces'), '--vocab-size', '600', '--no-phrases', '--out', join(dir, 'tok-plain')]));
    expect(tok.mean_prompt_tokens as number).toBeLessThan(0.6 * (plain.mean_prompt_tokens as number));
    // What the search sends mid-tree (the prompt, then the steps so far each followed by a blank
    // line) must tokenize as the start of the training sequence, or the served model would see
    // token boundaries it never saw in training.
    const prefixes = python(
      `import json, sys
from pathlib import Path
from astro_lm.chat import ChatTokenizer
from astro_lm.data import read_traces
tok = ChatTokenizer.load(Path(sys.argv[1]))
checked, broken = 0, []
for r in read_traces([sys.argv[2]]):
    full = tok.encode_chat(r.prompt, r.completion).ids
    steps = r.completion.split("\\n\\n")
    for k in range(1, len(steps)):
        served = tok.prompt_ids(r.prompt) + tok.text("\\n\\n" + "".join(s + "\\n\\n" for s in steps[:k]))
        checked += 1
        if full[: len(served)] != served:
            broken.append([r.prompt[-40:], k])
print(json.dumps({"checked": checked, "broken": broken[:3]}))`,
      join(dir, 'tok'),
      join(dir, 'data', 'traces'),
    ) as { checked: number; broken: unknown[] };
    expect(prefixes.checked).toBeGreaterThan(100);
    expect(prefixes.broken).toEqual([]);
  }, 300_000);

  it('SFT on a few rows of the search traces spends its token budget and produces a model', () => {
    const sft = ok(astroLm(['sft', '--traces', join(dir, 'data', 'traces'), '--variant', 'search', '--tokenizer', join(dir, 'tok'), '--out', join(dir, 'sft'), '--tokens', '6000', '--batch-tokens', '1024', '--max-rows', '12', '--save-at', '3000', '--quiet']));
    const stats = sft.stats as { tokens: number; steps: number; loss_tokens: number; first_loss: number; last_loss: number };
    expect(sft.variants).toEqual(['search']);
    expect(sft.rows).toBe(12);
    // The last batch is cut to the budget: it ends within one sequence of it.
    expect(stats.tokens).toBeGreaterThan(6000 - 400);
    expect(stats.tokens).toBeLessThanOrEqual(6000);
    // Loss only on the assistant turn: fewer supervised tokens than trained tokens.
    expect(stats.loss_tokens).toBeGreaterThan(0);
    expect(stats.loss_tokens).toBeLessThan(stats.tokens);
    expect(stats.last_loss).toBeLessThan(stats.first_loss);
    expect(readdirSync(join(dir, 'sft'))).toEqual(expect.arrayContaining(['config.json', 'model.safetensors', 'tokenizer.model', 'tokenizer_config.json', 'astro_lm.json']));
    // --save-at: the same run saved as it was before the batch that would cross 3,000 tokens.
    const checkpoints = sft.checkpoints as { out: string; tokens: number; steps: number }[];
    expect(checkpoints).toHaveLength(1);
    const checkpoint = checkpoints[0]!;
    expect(checkpoint.tokens).toBeGreaterThan(3000 - 1024);
    expect(checkpoint.tokens).toBeLessThanOrEqual(3000);
    expect(checkpoint.steps).toBeLessThan(stats.steps);
    const saved = JSON.parse(readFileSync(join(checkpoint.out, 'astro_lm.json'), 'utf8')) as { stats: { tokens: number } };
    expect(saved.stats.tokens).toBe(checkpoint.tokens);
  }, 600_000);

  it('exports a GGUF that the gguf reader parses as a Llama with our vocabulary and chat template', () => {
    const gguf = join(dir, 'model.gguf');
    const exported = ok(astroLm(['export', '--model', join(dir, 'sft'), '--out', gguf]));
    expect(exported.sha256).toBe(sha256(gguf));
    const summary = python(
      `import json, sys
from astro_lm.export import read_gguf_summary
from pathlib import Path
s = read_gguf_summary(Path(sys.argv[1]))
print(json.dumps(s))`,
      gguf,
    ) as { architecture: string; tokenizer_model: string; vocab_size: number; block_count: number; chat_template: string; tensors: Record<string, number[]> };
    expect(summary.architecture).toBe('llama');
    expect(summary.tokenizer_model).toBe('llama');
    expect(summary.vocab_size).toBe(600);
    expect(summary.block_count).toBe(4);
    expect(summary.chat_template).toContain('<|start_header_id|>');
    expect(summary.tensors['token_embd.weight']).toEqual([128, 600]);
    expect(Object.keys(summary.tensors)).toContain('blk.3.attn_q.weight');
  }, 600_000);

  it('llama-server loads the exported model, tokenizes conversations as training did, and answers', async () => {
    // The llama-server the openai-policy engine builds from the same llama.cpp source (see export.py).
    const binary = String(python(`import json; from astro_lm.export import llama_server_binary; b = llama_server_binary(); print(json.dumps(str(b) if b else ""))`));
    expect(binary, 'llama-server is not built: the pretest hook of the llama-server engine builds it into the astro-stream cache').not.toBe('');
    const [port] = await freeLoopbackPorts(1);
    const server = spawn(binary, ['-m', join(dir, 'model.gguf'), '--host', '127.0.0.1', '--port', String(port), '-t', '1', '-np', '1', '-c', '2048'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    server.stdout.on('data', (d: Buffer) => (log += d.toString()));
    server.stderr.on('data', (d: Buffer) => (log += d.toString()));
    const exited = new Promise<void>((resolve) => server.on('close', () => resolve()));
    try {
      const deadline = Date.now() + 180_000;
      for (;;) {
        const healthy = await fetch(`http://127.0.0.1:${port}/health`).then((r) => r.ok, () => false);
        if (healthy) break;
        expect(server.exitCode, log.slice(-2000)).toBeNull();
        expect(Date.now() < deadline, `llama-server not healthy in 180 s: ${log.slice(-2000)}`).toBe(true);
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
      const rows = python(
        `import json, sys
from pathlib import Path
from astro_lm.chat import ChatTokenizer
from astro_lm.data import read_traces
tok = ChatTokenizer.load(Path(sys.argv[1]))
rows = read_traces([sys.argv[2]])[:20]
print(json.dumps([{"prompt": r.prompt, "completion": r.completion, "ids": tok.encode_chat(r.prompt, r.completion).ids} for r in rows]))`,
        join(dir, 'sft'),
        join(dir, 'data', 'traces'),
      ) as { prompt: string; completion: string; ids: number[] }[];
      expect(rows.length).toBeGreaterThan(0);
      // What the openai policy sends: its default Llama-3 template with the user prompt and no steps yet.
      const render = (prompt: string, completion: string): string => `${renderPrompt(LLAMA3_TEMPLATE, prompt, [])}${completion}`;
      for (const row of rows) {
        const served = await postJson(`http://127.0.0.1:${port}/tokenize`, { content: `${render(row.prompt, row.completion)}<|eot_id|>`, add_special: false, parse_special: true });
        expect(served.tokens).toEqual(row.ids);
      }
      const first = rows[0];
      const answer = await postJson(`http://127.0.0.1:${port}/v1/completions`, { prompt: render(first?.prompt ?? '', ''), max_tokens: 24, temperature: 0 });
      const choice = (answer.choices as { text: string; finish_reason: string }[])[0];
      expect(choice?.text.length).toBeGreaterThan(0);
      expect(['length', 'stop']).toContain(choice?.finish_reason);
    } finally {
      server.kill('SIGTERM');
      await exited;
    }
  }, 600_000);

  it('an RL step on a real RL Parquet batch changes the weights and publishes a policy version the TypeScript side decodes', async () => {
    // The registry's spec of the policy topic (compacted), created as `topics create` does.
    const admin = createKafkaTransport({ brokers: kafka.brokers, logLevel: 'error' });
    await admin.createTopics([topicSpec(POLICY_TOPIC)]);
    await admin.close();

    // A few of the run's batches (2 rollout groups of the built-in policy each) that carry signal.
    const batches = python(
      `import json, os, sys
import pyarrow.parquet as pq
d = sys.argv[1]
names = sorted(f for f in os.listdir(d) if f.endswith(".parquet"))
print(json.dumps([f for f in names if any(a != 0 for a in pq.read_table(os.path.join(d, f), columns=["advantage"]).column(0).to_pylist())][:4]))`,
      join(dir, 'rlrun', 'rl', 'trl'),
    ) as string[];
    expect(batches.length).toBeGreaterThan(0);
    const rl = ok(
      astroLm(['rl', '--model', join(dir, 'sft'), '--rollouts', ...batches.map((f) => join(dir, 'rlrun', 'rl', 'trl', f)), '--out', join(dir, 'rl-v1'), '--policy', 'astro-lm-test', '--lr', '0.001', '--brokers', kafka.bootstrap, '--quiet']),
    );
    const stats = rl.stats as { rows: number; groups: number; groups_skipped_equal_rewards: number; steps: number; clipped_fraction: number };
    expect(stats.rows).toBeGreaterThan(0);
    expect(stats.groups).toBeGreaterThan(stats.groups_skipped_equal_rewards);
    expect(stats.steps).toBeGreaterThan(0);

    const changed = python(
      `import json, sys
from safetensors.torch import load_file
a, b = load_file(sys.argv[1]), load_file(sys.argv[2])
print(json.dumps(max(float((a[k] - b[k]).abs().max()) for k in a)))`,
      join(dir, 'sft', 'model.safetensors'),
      join(dir, 'rl-v1', 'model.safetensors'),
    ) as number;
    expect(changed).toBeGreaterThan(0);

    const record = rl.policy_version as PolicyVersion;
    expect(record.version).toBe(1);
    expect(record.sha256).toBe(sha256(record.path));
    expect(record.path.endsWith(`${record.sha256}.gguf`)).toBe(true);
    const fileLog = readFileSync(join(dir, 'policies', 'versions.jsonl'), 'utf8').trim().split('\n');
    const fromFile = PolicyVersionCodec.decode(new TextEncoder().encode(fileLog[fileLog.length - 1]));
    expect(fromFile.ok && fromFile.value).toEqual(record);

    // Read the record back through the project's own Kafka transport, as the search stage would.
    const transport = createKafkaTransport({ brokers: kafka.brokers, logLevel: 'error' });
    const consumer = await transport.consumer({ groupId: `astro-lm-test-${Date.now()}`, topics: [POLICY_TOPIC], fromBeginning: true });
    const received = await new Promise<{ key: string; value: Uint8Array }>((resolve) => {
      const sub = consumer.records.subscribe((r) => {
        sub.unsubscribe();
        resolve({ key: r.key ?? '', value: r.value });
      });
    });
    await consumer.close();
    await transport.close();
    expect(received.key).toBe('astro-lm-test');
    const decoded = PolicyVersionCodec.decode(received.value);
    expect(decoded.ok, decoded.ok ? '' : decoded.error.message).toBe(true);
    expect(decoded.ok && decoded.value).toEqual(record);
  }, 600_000);

  it('bad input exits 2 with one line naming the file and the missing column', () => {
    const batch = readdirSync(join(dir, 'rlrun', 'rl', 'trl')).find((f) => f.endsWith('.parquet')) ?? '';
    const r = astroLm(['sft', '--traces', join(dir, 'rlrun', 'rl', 'trl', batch), '--tokenizer', join(dir, 'tok'), '--out', join(dir, 'bad'), '--tokens', '100']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain(batch);
    expect(r.stderr).toContain('missing column(s) messages, variant, problem_json');
    const noModel = astroLm(['eval', '--model', join(dir, 'nope'), '--problems', join(dir, 'nope.jsonl')]);
    expect(noModel.code).toBe(2);
    expect(noModel.stderr).toContain('not a model directory');
  }, 300_000);

  it('the Python Countdown verifier agrees with the TypeScript one on trace completions and their perturbations', () => {
    const rows = python(
      `import json, sys
from astro_lm.data import read_traces
print(json.dumps([{"numbers": r.numbers, "target": r.target, "response": r.completion} for r in read_traces([sys.argv[1]], exclude_held_out=False)]))`,
      join(dir, 'data', 'traces'),
    ) as { numbers: number[]; target: number; response: string }[];
    const cases = rows.flatMap((r) => {
      const boxed = /\\boxed\{([^{}]*)\}\.?$/.exec(r.response)?.[1] ?? '';
      const [a, b, c] = r.numbers;
      return [
        r,
        { ...r, target: r.target + 1 },
        { ...r, response: r.response.replace(/\\boxed\{[^{}]*\}\.?$/, '') },
        { ...r, response: `\\boxed{${boxed}*1}` },
        { ...r, response: `\\boxed{(${boxed})}` },
        { ...r, response: `\\boxed{${a}+${a}}` },
        { ...r, response: `\\boxed{${a} + ${b} - ${c}}` },
        { ...r, response: `\\boxed{${a}/(${b}-${b})}` },
        { ...r, response: `  ${boxed}  ` },
        { ...r, response: `\\boxed{0${a}}` },
        { ...r, response: `\\boxed{-${a}+${b}}` },
        { ...r, response: `\\boxed{${'('.repeat(40)}${a}${')'.repeat(40)}}` },
        { ...r, response: `\\boxed{\\frac{${a}}{${b}}} then \\boxed{${boxed}` },
      ];
    });
    const file = join(dir, 'verify.jsonl');
    writeFileSync(file, cases.map((c) => JSON.stringify(c)).join('\n'));
    const py = ok(astroLm(['verify', '--rows', file])).verdicts as { correct: boolean; extracted: string | null }[];
    const ts = cases.map((c) => {
      const v = judgeCountdown(c.numbers, c.target, c.response);
      return { correct: v.correct, extracted: v.extracted };
    });
    expect(ts.filter((v) => v.correct).length).toBeGreaterThan(0);
    expect(ts.filter((v) => !v.correct).length).toBeGreaterThan(0);
    expect(py).toEqual(ts);
  }, 300_000);
});
