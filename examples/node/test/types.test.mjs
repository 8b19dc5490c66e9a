// The package's TypeScript declarations: a TypeScript consumer type-checks with `tsc --noEmit`,
// and every name each entry point exports at run time is declared (and nothing more).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { here } from './common.mjs';

// typescript and @types/node are devDependencies, pinned in the package's lock.
const require = createRequire(import.meta.url);
const ts = require('typescript');
const typesDir = path.join(here, 'types');

test('a TypeScript consumer type-checks with tsc --noEmit', () => {
  const tsc = require.resolve('typescript/bin/tsc');
  const r = spawnSync(process.execPath, [tsc, '--noEmit', '-p', path.join(typesDir, 'tsconfig.json')],
    { encoding: 'utf8' });
  assert.equal(r.status, 0, `tsc ${ts.version} failed:\n${r.stdout}${r.stderr}`);
});

/** The names TypeScript sees exported by `specifier`, resolved as the consumer resolves it. */
function declaredNames(specifier) {
  const options = { module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, noEmit: true };
  const file = path.join(typesDir, 'consumer.mts');
  const resolved = ts.resolveModuleName(specifier, file, options, ts.sys, undefined, undefined, ts.ModuleKind.ESNext);
  const declFile = resolved.resolvedModule?.resolvedFileName;
  assert.ok(declFile?.endsWith('.d.mts'), `${specifier} resolves to declarations (${declFile})`);
  const program = ts.createProgram([declFile], options);
  const checker = program.getTypeChecker();
  const symbol = checker.getSymbolAtLocation(program.getSourceFile(declFile));
  // Values only: the run-time exports to compare with (interfaces and types have no value).
  return checker.getExportsOfModule(symbol)
    .filter((s) => {
      const target = s.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(s) : s;
      return (target.flags & ts.SymbolFlags.Value) !== 0;
    })
    .map((s) => s.name).sort();
}

for (const specifier of ['a0backup', 'a0backup/promises']) {
  test(`every run-time export of ${specifier} is declared, and only those`, async () => {
    const runtime = Object.keys(await import(specifier)).sort();
    assert.ok(runtime.length > 10);
    assert.deepEqual(declaredNames(specifier), runtime);
  });
}
