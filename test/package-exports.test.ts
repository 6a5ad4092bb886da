/**
 * The package's entry points as an installed user sees them: a temporary project with
 * `node_modules/fanfold` linked to this repository imports `fanfold` and each subpath, so Node
 * resolves them through package.json `exports` into the build in dist/ (the test command builds
 * it first). The root must not carry the adapters; each subpath must.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..');
const SUBPATHS = ['fanfold', 'fanfold/anthropic', 'fanfold/simulator', 'fanfold/testing', 'fanfold/inspector', 'fanfold/restate'] as const;

/** What each adapter subpath must export, and the root must not. */
const MOVED = {
  'fanfold/anthropic': ['createAnthropicProvider', 'ANTHROPIC_API_URL', 'openBackend'],
  'fanfold/simulator': ['startSimulator', 'FAULT_TYPES', 'DEFAULT_LATENCY'],
  'fanfold/testing': ['createScriptedProvider'],
} as const;

interface Loaded {
  /** Where `import.meta.resolve` sent each specifier. */
  resolved: Record<string, string>;
  /** The runtime export names of each specifier's module. */
  exports: Record<string, string[]>;
}

let project: string;
let loaded: Loaded;

beforeAll(async () => {
  project = mkdtempSync(join(tmpdir(), 'fanfold-exports-'));
  mkdirSync(join(project, 'node_modules'));
  symlinkSync(ROOT, join(project, 'node_modules', 'fanfold'), 'dir');
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'uses-fanfold', type: 'module', private: true }));
  // A plain ES module run by node from the project: no vitest or tsx resolution in the way.
  writeFileSync(
    join(project, 'load.mjs'),
    `const specifiers = ${JSON.stringify(SUBPATHS)};
const resolved = {}, exports = {};
for (const specifier of specifiers) {
  resolved[specifier] = import.meta.resolve(specifier);
  exports[specifier] = Object.keys(await import(specifier)).sort();
}
process.stdout.write(JSON.stringify({ resolved, exports }));
`,
  );
  const { stdout } = await promisify(execFile)(process.execPath, ['load.mjs'], { cwd: project });
  loaded = JSON.parse(stdout) as Loaded;
}, 60_000);

afterAll(() => {
  if (project) rmSync(project, { recursive: true, force: true });
});

describe('package entry points', () => {
  it('every subpath resolves through `exports` to a built module in dist/, with its types beside it', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { exports: Record<string, { types: string; default: string }> };
    for (const specifier of SUBPATHS) {
      const key = specifier === 'fanfold' ? '.' : `.${specifier.slice('fanfold'.length)}`;
      const entry = pkg.exports[key];
      expect(entry, key).toBeDefined();
      // Node follows the link to the repository (its real path), then the map to dist/.
      expect(loaded.resolved[specifier]).toBe(pathToFileURL(join(ROOT, entry!.default)).href);
      expect(existsSync(join(ROOT, entry!.types)), entry!.types).toBe(true);
      expect(loaded.exports[specifier]!.length, specifier).toBeGreaterThan(0);
    }
  });

  it('a path the map does not list is not importable', async () => {
    const attempt = promisify(execFile)(process.execPath, ['--input-type=module', '-e', "await import('fanfold/dist/src/providers/scripted.js')"], { cwd: project });
    await expect(attempt).rejects.toMatchObject({ stderr: expect.stringContaining('ERR_PACKAGE_PATH_NOT_EXPORTED') });
  });

  it('the root keeps the run API, machines, policies, checkpoints, run ids, tools and errors, and none of the adapters', () => {
    const root = loaded.exports['fanfold']!;
    for (const name of [
      'runFanOut',
      'resumeFanOut',
      'createRunActors',
      'leadMachine',
      'normalizeConfig',
      'DEFAULT_POLICY',
      'createFileCheckpointStore',
      'newRunId',
      'checkRunId',
      'defineTool',
      'FanfoldError',
      'FANFOLD_ERROR_CODES',
      'ConfigError',
      'ProviderError',
      'CheckpointError',
      'BudgetExceededError',
      'researchConfig',
    ]) {
      expect(root, name).toContain(name);
    }
    for (const name of Object.values(MOVED).flat()) expect(root, name).not.toContain(name);
  });

  it.each(Object.entries(MOVED))('%s exports its adapter', (specifier, names) => {
    expect(loaded.exports[specifier]).toEqual(expect.arrayContaining([...names]));
  });

  it('fanfold/inspector and fanfold/restate keep their entry points', () => {
    expect(loaded.exports['fanfold/inspector']).toEqual(expect.arrayContaining(['startInspectorServer', 'createInspectionRecorder']));
    expect(loaded.exports['fanfold/restate']).toEqual(expect.arrayContaining(['startRestateRun', 'serveRestate', 'RestateIngressError', 'checkRunId']));
  });
});
