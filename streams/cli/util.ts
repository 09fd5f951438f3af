import type { Logger } from '../../operators/common/metrics.js';

/** The package version, recorded in manifests. */
export const ASTRO_STREAM_VERSION = '0.1.0';

/** Logs `[component] level message {fields}` lines to stderr (stdout carries results). */
export function stderrLogger(component: string, options: { readonly quiet?: boolean } = {}): Logger {
  const write = (level: string, message: string, fields?: Record<string, unknown>): void => {
    const extra = fields && Object.keys(fields).length > 0 ? ` ${JSON.stringify(fields)}` : '';
    process.stderr.write(`[${component}] ${level} ${message}${extra}\n`);
  };
  return {
    info: (m, f) => {
      if (!options.quiet) write('info', m, f);
    },
    warn: (m, f) => write('warn', m, f),
    error: (m, f) => write('error', m, f),
  };
}
