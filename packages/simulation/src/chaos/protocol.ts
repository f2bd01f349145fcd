/** The jobs every chaos process runs: seconds-field schedules, so a few minutes hold many slots. */
export const CHAOS_JOBS: Record<string, string> = {
  'every-5s': '*/5 * * * * *',
  'every-3s': '*/3 * * * * *',
};

/** What a chaos process reports on stdout, one JSON object per line. */
export type ChaosLine =
  | { type: 'started'; workerId: string }
  | { type: 'leader'; workerId: string; epoch: number }
  | { type: 'demoted'; workerId: string; epoch: number; reason: string }
  | { type: 'exec'; workerId: string; job: string; slot: string | null; trigger: string; epoch: number }
  | { type: 'error'; workerId: string; operation: string; message: string; code?: string };
