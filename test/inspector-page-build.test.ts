/**
 * The inspector page's script is built from the typed modules under src/inspector/page/: the
 * server serves exactly what bundling them gives now (so a stale generated file fails here), and
 * the page's own typecheck (DOM lib) catches a type error in them.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { afterEach, describe, expect, it } from 'vitest';
import { startInspectorServer, type InspectorServer } from '../src/inspector/index.ts';
import { SECRET_KEY_SOURCE } from '../src/inspector/wire.ts';
import { buildPageScript } from '../scripts/build-inspector-page.ts';
import { get } from './inspector-support.ts';

const PAGE_DIR = fileURLToPath(new URL('../src/inspector/page/', import.meta.url));

describe('the inspector page build', () => {
  let server: InspectorServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('serves the bundle of src/inspector/page as /app.js, the modules it imports included', async () => {
    server = await startInspectorServer({ port: 0, log: () => {} });
    const served = await get(new URL('/app.js', server.url).href);
    expect(served.status).toBe(200);
    expect(served.body).toBe(await buildPageScript());
    // One script, its modules inside: the page's entry and the server's own redaction rule.
    expect(served.body).toContain('// src/inspector/page/main.ts');
    expect(served.body).toContain('// src/inspector/page/transcript.ts');
    expect(served.body).toContain(SECRET_KEY_SOURCE);
    expect(served.body).not.toMatch(/^\s*(import|export)\s/m);
    expect(() => new Function(served.body)).not.toThrow();
  });

  it('typechecks the page with the DOM lib: a type error in it fails the check', async () => {
    // `npm run build:page` runs this check on the page as it is (`tsc -p src/inspector/page`);
    // here, on a copy of one module with an error put in, checking that module alone (fast).
    const configPath = `${PAGE_DIR}tsconfig.json`;
    const config = ts.getParsedCommandLineOfConfigFile(
      configPath,
      {},
      {
        ...ts.sys,
        onUnRecoverableConfigFileDiagnostic: (d) => {
          throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
        },
      },
    );
    if (!config) throw new Error(`could not read ${configPath}`);
    const target = `${PAGE_DIR}dom.ts`;
    expect(config.fileNames).toContain(target);
    const check = (text: string) => {
      const host = ts.createCompilerHost(config.options);
      const getSourceFile = host.getSourceFile.bind(host);
      host.getSourceFile = (fileName, languageVersion, ...rest) => (fileName === target ? ts.createSourceFile(fileName, text, languageVersion) : getSourceFile(fileName, languageVersion, ...rest));
      const program = ts.createProgram({ rootNames: [target], options: config.options, host });
      return [...program.getOptionsDiagnostics(), ...program.getSemanticDiagnostics(program.getSourceFile(target))].map((d) => `TS${d.code} ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`);
    };
    const original = await readFile(target, 'utf8');
    // A DOM value where a number is wanted: found only by a check that knows the DOM.
    expect(check(`${original}\nexport const broken: number = document.title;\n`)).toEqual(["TS2322 Type 'string' is not assignable to type 'number'."]);
    expect(check(original)).toEqual([]);
  });
});
