import { AppError } from '../operators/common/errors.js';
import { countdownDomain } from './countdown/index.js';
import type { Domain } from './domain.js';
import { mathDomain } from './math/index.js';

/** Built-in domains by name (`problem.domain`). */
const DOMAINS: ReadonlyMap<string, Domain> = new Map([
  [countdownDomain.name, countdownDomain],
  [mathDomain.name, mathDomain],
]);

/** Names of the built-in domains. */
export const DOMAIN_NAMES: readonly string[] = [...DOMAINS.keys()];

/** The domain of a problem; an unknown name is a per-record `config` error (the record goes to the DLQ). */
export function domainOf(name: string): Domain {
  const domain = DOMAINS.get(name);
  if (domain === undefined) throw new AppError('config', `unknown domain ${JSON.stringify(name)}; known: ${DOMAIN_NAMES.join(', ')}`);
  return domain;
}
