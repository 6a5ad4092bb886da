/**
 * The Restate runtime's commands: `serve --restate` (the service) and `restate-research` (a
 * client that starts and follows a run through the ingress).
 */
import type { Command } from 'commander';
import type { CliIO } from '../io.ts';
import { restateResearchCommand } from './restateResearch.ts';
import { serveCommand } from './serve.ts';

/** Registers the Restate commands on the program. */
export function restateCommands(program: Command, io: CliIO, done: (code: number) => void): void {
  serveCommand(program, io, done);
  restateResearchCommand(program, io, done);
}
