import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const dist = fileURLToPath(new URL('../dist/index.js', import.meta.url));

// A loader hook that refuses to resolve the AWS SDK: memory users must never load it.
const hook = `data:text/javascript,${encodeURIComponent(
  `export async function resolve(specifier, context, next) {
    if (specifier.startsWith('@aws-sdk/')) throw new Error('AWS SDK loaded: ' + specifier);
    return next(specifier, context);
  }`,
)}`;

describe('the AWS SDK is loaded lazily', () => {
  it('importing the package and using memory:// never loads it; s3:// does', () => {
    const script = `
      import { register } from 'node:module';
      register(${JSON.stringify(hook)});
      const { connect, PluginStorage } = await import(${JSON.stringify(dist)});
      const store = await connect('memory://lazy/x');
      await new PluginStorage(store, 'p').set('k', 1);
      const error = await connect('s3://bucket/x?endpoint=http://127.0.0.1:9').catch((e) => e);
      console.log(JSON.stringify({ memory: 'ok', s3: String(error.message) }));
    `;
    const output = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
      encoding: 'utf8',
    });
    const result = JSON.parse(output.trim().split('\n').at(-1)!);
    expect(result.memory).toBe('ok');
    expect(result.s3).toContain('AWS SDK loaded: @aws-sdk/client-s3');
  });
});
