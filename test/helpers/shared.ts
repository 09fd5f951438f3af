import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './cli.js';

/**
 * The shared data directory (`datasets/`, `verifier-conformance/`): next to the checkout
 * (`/work/main` → `/work/shared`), or one level further up for a worktree (`/work/wt/x`).
 */
export const SHARED_DIR = [join(REPO_ROOT, '..', 'shared'), join(REPO_ROOT, '..', '..', 'shared')].find((d) => existsSync(d)) ?? join(REPO_ROOT, '..', 'shared');
