import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { type ReadmeBlock, readmeBlocks } from './readme-blocks.js';

// Every ts/js block of every published package's README is type-checked (strict, NodeNext, as a
// user's module that imports the packages by name), and blocks marked `<!-- readme-check: run -->`
// are then run; so a broken example fails the tests. One tsc run for all blocks.
const here = fileURLToPath(new URL('..', import.meta.url));
const root = join(here, '..', '..');
const out = join(here, '.checked');
const tsc = join(here, 'node_modules', '.bin', 'tsc');

const readmes = readdirSync(join(root, 'packages'))
  .map((name) => join(root, 'packages', name))
  .filter((dir) => existsSync(join(dir, 'package.json')))
  .filter((dir) => !JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).private)
  .map((dir) => join(dir, 'README.md'));

interface Checked extends ReadmeBlock {
  readme: string;
  file: string;
}

function writeBlocks(): Checked[] {
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'package.json'), JSON.stringify({ type: 'module' }));
  const checked: Checked[] = [];
  for (const readme of readmes) {
    const name = relative(join(root, 'packages'), readme).split('/')[0]!;
    readmeBlocks(readme).forEach((block, i) => {
      const file = `${name}-${i + 1}.${block.lang === 'ts' ? 'ts' : 'js'}`;
      // A module of its own (top-level await allowed); the prelude stays on the first line so the
      // block's line numbers map back to the README's.
      const text = `${block.prelude} export {};\n${block.code}\n`;
      writeFileSync(join(out, file), text);
      checked.push({ ...block, readme, file });
    });
  }
  writeFileSync(
    join(out, 'tsconfig.json'),
    JSON.stringify({
      extends: '../../../tsconfig.base.json',
      compilerOptions: {
        rootDir: '.',
        outDir: 'js',
        allowJs: true,
        checkJs: true,
        declaration: false,
        declarationMap: false,
        sourceMap: false,
        noUnusedLocals: false,
      },
      include: checked.map((c) => c.file),
    }),
  );
  return checked;
}

describe('README code blocks', () => {
  const checked = writeBlocks();

  it('every ts/js block of every published README type-checks', () => {
    let output = '';
    try {
      execFileSync(tsc, ['-p', join(out, 'tsconfig.json')], { encoding: 'utf8', cwd: out });
    } catch (error) {
      output = String((error as { stdout?: string }).stdout ?? error);
    }
    // Map "pkg-2.ts(5,3): error …" back to "packages/pkg/README.md:<line>: error …".
    const errors = output
      .split('\n')
      .filter((line) => line.includes('error'))
      .map((line) => {
        const match = /^([\w-]+\.(?:ts|js))\((\d+),\d+\): (.*)$/.exec(line.trim());
        const block = match && checked.find((c) => c.file === match[1]);
        if (!block || !match) return line;
        return `${relative(root, block.readme)}:${block.line + Number(match[2]) - 2}: ${match[3]}`;
      });
    expect(errors).toEqual([]);
    expect(checked.length).toBeGreaterThan(20);
  });

  for (const block of checked.filter((c) => c.run)) {
    it(`runs ${relative(root, block.readme)}:${block.line}`, () => {
      const js = join(out, 'js', block.file.replace(/\.ts$/, '.js'));
      // Throws (and fails the test) when the example exits non-zero.
      execFileSync(process.execPath, [js], { encoding: 'utf8', cwd: out, stdio: 'pipe' });
    });
  }
});
