import { readFileSync } from 'node:fs';

/** One fenced ```ts or ```js block of a README. */
export interface ReadmeBlock {
  /** 1-based line of the first code line in the README. */
  line: number;
  lang: 'ts' | 'js';
  code: string;
  /**
   * From an HTML comment on the line before the fence (invisible where the README is shown):
   * `<!-- readme-check: run -->` runs the block after type-checking it;
   * `<!-- readme-check: prelude <declarations> -->` prepends the declarations (a fragment's
   * context, such as `declare const store: ObjectStore;`), with imports they need.
   */
  run: boolean;
  prelude: string;
}

const FENCE = /^```(ts|typescript|js|javascript)\s*$/;

/** Every ```ts/```js block of the README at `path`, in order. */
export function readmeBlocks(path: string): ReadmeBlock[] {
  const lines = readFileSync(path, 'utf8').split('\n');
  const blocks: ReadmeBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const fence = FENCE.exec(lines[i]!);
    if (!fence) continue;
    const directive = /^<!-- readme-check: (run|prelude)([\s\S]*?)-->$/.exec(lines[i - 1]?.trim() ?? '');
    const end = lines.findIndex((text, j) => j > i && text.startsWith('```'));
    if (end < 0) throw new Error(`${path}:${i + 1}: unclosed code block`);
    blocks.push({
      line: i + 2,
      lang: fence[1]!.startsWith('t') ? 'ts' : 'js',
      code: lines.slice(i + 1, end).join('\n'),
      run: directive?.[1] === 'run',
      prelude: directive?.[1] === 'prelude' ? directive[2]!.trim() : '',
    });
    i = end;
  }
  return blocks;
}
