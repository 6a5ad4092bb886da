/**
 * `fanfold run <app.yaml> [task]` — a fan-out declared in an app file.
 */
import type { Command } from 'commander';
import { resolve } from 'node:path';
import { loadAppFile } from '../../appFile.ts';
import type { FanOutConfig, SpecialistConfig } from '../../config.ts';
import { executeRun, type OutputOptions } from '../executeRun.ts';
import type { CliIO } from '../io.ts';
import { addRunOptions, applyRunOverrides, type RunOverrides } from './runOptions.ts';

/** The config with no tools anywhere and no MCP servers (`--no-tools`). */
export function withoutTools(config: FanOutConfig): FanOutConfig {
  const strip = (specialist: SpecialistConfig): SpecialistConfig => {
    const { tools: _tools, ...rest } = specialist;
    return rest.specialists ? { ...rest, specialists: rest.specialists.map(strip) } : rest;
  };
  const { tools: _tools, mcp: _mcp, ...rest } = config;
  // A model lead keeps its Agent tool; only its own tools go.
  const lead = config.lead ? (({ tools: _leadTools, ...own }) => own)(config.lead) : undefined;
  return { ...rest, specialists: config.specialists.map(strip), ...(lead ? { lead } : {}) };
}

/** Registers `run` on the program. */
export function runCommand(program: Command, io: CliIO, done: (code: number) => void): void {
  addRunOptions(
    program
      .command('run')
      .description("Run the fan-out declared in an app file (YAML or JSON): agents, the lead's specialists and synthesizer, deadline, concurrency")
      .argument('<app-file>', 'path to the app file, e.g. examples/apps/market-scan.yaml')
      .argument('[task...]', 'the task, when the file has none or to replace it')
      .option('--no-tools', "ignore the file's tools and MCP servers: each agent answers in one model call"),
  ).action(async (file: string, taskWords: string[], options: RunOverrides & OutputOptions & { tools: boolean }) => {
    const task = taskWords.join(' ').trim() || undefined;
    const app = await loadAppFile(file, { task });
    const config = applyRunOverrides(options.tools ? { ...app.config } : withoutTools(app.config), options);
    const resumeHints = { appFile: resolve(file), ...(task ? { task } : {}), ...(options.tools ? {} : { noTools: true as const }) };
    done(await executeRun({ ...options, config, source: file, title: app.name ?? config.task, prices: app.prices, resumeHints, credentials: app.credentials }, io));
  });
}
