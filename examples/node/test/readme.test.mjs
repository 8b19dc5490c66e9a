// The README's Node examples run as written: every ```js block that imports the package is
// marked `<!-- README-NODE-TEST ... -->` and runs here, unchanged, as an ES module in a fresh
// directory holding `tests` (a link to the repository's) and the package under test in its
// node_modules, the way an application that installed it sees it.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { checkAgainstManifest, packageDir, root, tempDir } from './common.mjs';

const MARKER = '<!-- README-NODE-TEST';

/** The README's ```js blocks, each with whether the marker line comes right before it. */
function jsBlocks(readme) {
  const blocks = [];
  const lines = readme.split('\n');
  let previous = '';
  for (let i = 0; i < lines.length; i++) {
    if (lines[i].trim() === '```js') {
      const body = [];
      for (i++; i < lines.length && lines[i].trim() !== '```'; i++) body.push(lines[i]);
      blocks.push({ marked: previous.trimStart().startsWith(MARKER), body: body.join('\n') });
    }
    if (lines[i]?.trim()) previous = lines[i];
  }
  return blocks;
}

test('the block reader sees marks', () => {
  const blocks = jsBlocks(`x\n${MARKER}: y -->\n\`\`\`js\nimport 'a0backup';\n\`\`\`\n\n\`\`\`js\n1;\n\`\`\`\n`);
  assert.deepEqual(blocks, [{ marked: true, body: "import 'a0backup';" }, { marked: false, body: '1;' }]);
});

test('every Node block of the README runs as written', async (t) => {
  const blocks = jsBlocks(fs.readFileSync(path.join(root, 'README.md'), 'utf8'));
  for (const b of blocks) {
    assert.ok(b.marked || !/from 'a0backup/.test(b.body), `a README block uses the package but is not marked:\n${b.body}`);
  }
  const marked = blocks.filter((b) => b.marked);
  assert.ok(marked.length >= 2, `${marked.length} marked blocks`);
  for (const [i, { body }] of marked.entries()) {
    await t.test(`block ${i + 1}`, (t) => {
      const dir = tempDir(t);
      fs.symlinkSync(path.join(root, 'tests'), path.join(dir, 'tests'));
      fs.mkdirSync(path.join(dir, 'node_modules'));
      fs.symlinkSync(packageDir, path.join(dir, 'node_modules', 'a0backup'));
      fs.writeFileSync(path.join(dir, 'example.mjs'), body);
      const r = spawnSync(process.execPath, ['example.mjs'], { cwd: dir, encoding: 'utf8' });
      assert.equal(r.status, 0, `the README block\n${body}\nfailed:\n${r.stdout}${r.stderr}`);
      // What the block says it restores, it restored.
      for (const dest of body.match(/'node-[a-z-]*restore'/g) ?? []) checkAgainstManifest(path.join(dir, dest.slice(1, -1)));
    });
  }
});
