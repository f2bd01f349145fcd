import { SchedulerError } from '@s3-scheduler/core';

export type Sdk = typeof import('@aws-sdk/client-s3');

/** The package the S3 backend loads on first use; an optional peer dependency. */
export const SDK_PACKAGE = '@aws-sdk/client-s3';

/**
 * Imports the AWS SDK on first use of an S3 store, so that users of the memory store, of the cron
 * parser or of the executor neither install nor load it (about 22 MB installed). A missing SDK is
 * a `MISSING_DEPENDENCY` error that says what to install, not a bare module-resolution failure.
 * `importer` is a seam for tests.
 */
export async function loadSdk(
  importer: () => Promise<Sdk> = () => import('@aws-sdk/client-s3'),
): Promise<Sdk> {
  try {
    return await importer();
  } catch (error) {
    if (!isModuleNotFound(error)) throw error;
    throw new SchedulerError(`The S3 backend needs ${SDK_PACKAGE}, which is not installed`, {
      code: 'MISSING_DEPENDENCY',
      operation: 'S3Store',
      metadata: { package: SDK_PACKAGE },
      suggestion: `Install it next to @s3-scheduler packages: npm install ${SDK_PACKAGE} (or pnpm add / yarn add). The memory store (memory://) needs nothing more.`,
      cause: error,
    });
  }
}

function isModuleNotFound(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  const message = String((error as { message?: unknown } | null)?.message ?? '');
  return (
    (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND' || message.startsWith('Cannot find')) &&
    message.includes(SDK_PACKAGE)
  );
}
