#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { AppError } from '../../operators/common/errors.js';
import { createDashboardCommand } from './commands/dashboard.js';
import { createDatasetCommand } from './commands/dataset.js';
import { createEvalCommand } from './commands/eval.js';
import { createKafkaCommand } from './commands/kafka.js';
import { createLlmCommand } from './commands/llm.js';
import { createReplayCommand } from './commands/replay.js';
import { createRunCommand } from './commands/run.js';
import { createServePolicyCommand } from './commands/servePolicy.js';
import { createSourceCommand } from './commands/source.js';
import { createStageCommand } from './commands/stage.js';
import { createTopicsCommand } from './commands/topics.js';
import { createVerifyCommand } from './commands/verify.js';
import { ASTRO_STREAM_VERSION } from './util.js';

/**
 * The `astro-stream` command. Each subcommand lives in `streams/cli/commands/<name>.ts` and
 * exports `create<Name>Command(): Command`; this file only assembles them.
 */
export function createProgram(): Command {
  const program = new Command('astro-stream')
    .description('Search-derived reasoning data (ASTRO) as a continuous dataflow: MCTS → verify → linearize → Parquet → RL')
    .version(ASTRO_STREAM_VERSION)
    .showHelpAfterError();
  program.addCommand(createRunCommand());
  program.addCommand(createReplayCommand());
  program.addCommand(createDatasetCommand());
  program.addCommand(createServePolicyCommand());
  program.addCommand(createStageCommand());
  program.addCommand(createSourceCommand());
  program.addCommand(createTopicsCommand());
  program.addCommand(createEvalCommand());
  program.addCommand(createVerifyCommand());
  program.addCommand(createKafkaCommand());
  program.addCommand(createDashboardCommand());
  program.addCommand(createLlmCommand());
  return program;
}

// A reader that stopped reading (`astro-stream dataset inspect DIR | head -1`) is not a failure.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') throw error;
  process.exit(typeof process.exitCode === 'number' ? process.exitCode : 0);
});

/** Usage errors (a missing argument, an unknown option) are bad input: exit 2 like every config error. */
function usageErrorsExit2(command: Command): void {
  command.exitOverride();
  for (const sub of command.commands) usageErrorsExit2(sub);
}

const program = createProgram();
usageErrorsExit2(program);
try {
  await program.parseAsync(process.argv);
} catch (error) {
  // Commander has already printed its message (and the help after it); --help and --version are exit 0.
  if (error instanceof CommanderError) process.exit(error.exitCode === 0 ? 0 : 2);
  // User-facing failures (bad config, unreachable broker) get one clear line, not a stack trace.
  if (error instanceof AppError) {
    process.stderr.write(`astro-stream: ${error.kind} error: ${error.message}\n`);
    process.exit(error.kind === 'config' ? 2 : 1);
  }
  throw error;
}
