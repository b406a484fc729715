import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { defineWorker } from '@rfw/worker';
import { useHarness, waitForState } from './helpers.js';

describe('job_processing: the job logger', () => {
  const h = useHarness();

  it('names attempt 1 on a first attempt whose running record was written before it logged', async () => {
    const lines: Array<{ msg?: string; attempt?: number; jobId?: string }> = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l));
        done();
      },
    });
    const q = await h.queue();
    await h.manager(
      [
        defineWorker('logs', async (_p: unknown, ctx) => {
          // Log only once the `running` record is stored (it sets `attempts`).
          for (;;) {
            const j = await q.get(ctx.jobId);
            if (j?.state === 'running') break;
            await new Promise((r) => setTimeout(r, 10));
          }
          ctx.logger.info('working');
        }),
      ],
      { runningRecordDelayMs: 0, logger: pino({ level: 'info' }, sink) },
    );
    const id = await q.schedule('logs', {});
    const job = await waitForState(q, id, ['succeeded']);
    expect(job.attempts).toBe(1);
    const line = lines.find((l) => l.msg === 'working' && l.jobId === id);
    expect(line?.attempt).toBe(1);
  });
});
