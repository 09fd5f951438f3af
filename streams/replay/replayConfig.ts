import { AppError } from '../../operators/common/errors.js';
import { LinearizeConfig, parseLinearizeConfig } from '../../operators/linearize/linearizeConfig.js';
import type { DatasetManifest } from '../sinks/manifest.js';

/**
 * The linearizer config a rebuilt dataset starts from: the one recorded in the input dataset's
 * manifest (`configs.linearize`), so a replay that changes only `--k-mix` changes only what the k
 * mix changes. Without a manifest (topic replays), the method's defaults.
 */
export function baseLinearizeConfig(manifest: DatasetManifest | null): Record<string, unknown> {
  const recorded = manifest?.configs['linearize'];
  if (recorded === undefined) return {};
  const parsed = LinearizeConfig.partial().safeParse(recorded);
  if (!parsed.success) throw new AppError('config', `the input manifest's configs.linearize is not a linearizer config: ${parsed.error.message}`);
  return parsed.data;
}

/** Deep-merges config layers (later wins; arrays replaced) and validates the linearizer config. */
export function resolveLinearizeConfig(...layers: readonly Record<string, unknown>[]): LinearizeConfig {
  const merged: Record<string, unknown> = {};
  for (const layer of layers) for (const [k, v] of Object.entries(layer)) if (v !== undefined) merged[k] = v;
  return parseLinearizeConfig(merged);
}

/**
 * `--from-time` / `--to-time`: epoch milliseconds or an ISO-8601 date (`2026-11-25T03:00:00Z`).
 * A bare number is ms; anything `Date.parse` cannot read is a `config` error naming the flag.
 */
export function parseTimeFlag(name: string): (value: string) => number {
  return (value: string) => {
    const text = value.trim();
    const ms = /^\d+$/.test(text) ? Number(text) : Date.parse(text);
    if (!Number.isFinite(ms)) throw new AppError('config', `${name} must be epoch ms or an ISO date, got ${JSON.stringify(value)}`);
    return ms;
  };
}
