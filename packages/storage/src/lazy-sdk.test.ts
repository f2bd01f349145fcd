import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const dist = fileURLToPath(new URL('../dist/index.js', import.meta.url));

/** A loader hook whose `resolve` runs `body` for any `@aws-sdk/` specifier. */
function refuseSdk(body: string): string {
  return `data:text/javascript,${encodeURIComponent(
    `export async function resolve(specifier, context, next) {
      if (specifier.startsWith('@aws-sdk/')) { ${body} }
      return next(specifier, context);
    }`,
  )}`;
}

/** Runs `script` in a fresh Node process with `hook` registered; returns its last output line. */
function runWithHook(hook: string, script: string): Record<string, unknown> {
  const output = execFileSync(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `import { register } from 'node:module';
       register(${JSON.stringify(hook)});
       const { connect, PluginStorage } = await import(${JSON.stringify(dist)});
       ${script}`,
    ],
    { encoding: 'utf8' },
  );
  return JSON.parse(output.trim().split('\n').at(-1)!);
}

describe('the AWS SDK is an optional peer, loaded on demand', () => {
  it('importing the package and using memory:// never loads it; s3:// does', () => {
    // A loader hook that refuses to resolve the AWS SDK: memory users must never load it.
    const result = runWithHook(
      refuseSdk(`throw new Error('AWS SDK loaded: ' + specifier);`),
      `const store = await connect('memory://lazy/x');
       await new PluginStorage(store, 'p').set('k', 1);
       const error = await connect('s3://bucket/x?endpoint=http://127.0.0.1:9').catch((e) => e);
       console.log(JSON.stringify({ memory: 'ok', s3: String(error.message) }));`,
    );
    expect(result.memory).toBe('ok');
    expect(result.s3).toContain('AWS SDK loaded: @aws-sdk/client-s3');
  });

  it('without the SDK installed, s3:// fails MISSING_DEPENDENCY with what to install', () => {
    // What Node throws when the package is not installed.
    const result = runWithHook(
      refuseSdk(
        `const error = new Error("Cannot find package '" + specifier + "' imported from " + context.parentURL);
         error.code = 'ERR_MODULE_NOT_FOUND'; throw error;`,
      ),
      `const error = await connect('s3://bucket/x?endpoint=http://127.0.0.1:9').catch((e) => e);
       console.log(JSON.stringify({ code: error.code, retriable: error.retriable, message: error.message,
         suggestion: error.suggestion, metadata: error.metadata }));`,
    );
    expect(result).toMatchObject({
      code: 'MISSING_DEPENDENCY',
      retriable: false,
      message: 'The S3 backend needs @aws-sdk/client-s3, which is not installed',
      metadata: { package: '@aws-sdk/client-s3' },
    });
    expect(result.suggestion).toContain('npm install @aws-sdk/client-s3');
  });
});
