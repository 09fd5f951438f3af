#!/usr/bin/env node
import { Command } from 'commander';

/**
 * The `astro-stream` command. Each subcommand lives in `streams/cli/commands/<name>.ts` and
 * exports `create<Name>Command(): Command`; this file only assembles them.
 */
export function createProgram(): Command {
  const program = new Command('astro-stream')
    .description('Search-derived reasoning data (ASTRO) as a continuous dataflow: MCTS → verify → linearize → Parquet → RL')
    .version('0.1.0')
    .showHelpAfterError();
  return program;
}

const program = createProgram();
await program.parseAsync(process.argv);
