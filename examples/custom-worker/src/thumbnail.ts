/**
 * The `thumbnail` job type: its payload schema and its handler. A job crosses
 * process boundaries as JSON, so the schema validates it before the handler
 * runs; an invalid payload goes to the dead-letter queue with the reason.
 */
import { z } from 'zod';
import { defineWorker, NonRetryableError } from '@rfw/worker';

export const THUMBNAIL = 'thumbnail';

export const ThumbnailPayload = z.object({
  bucket: z.string().min(1),
  key: z.string().min(1),
  /** Longest side of the thumbnail, px. */
  size: z.number().int().min(16).max(2048).default(256),
});
export type ThumbnailPayload = z.infer<typeof ThumbnailPayload>;

export interface ThumbnailResult {
  thumbnail: string;
  size: number;
}

export const thumbnailWorker = defineWorker<ThumbnailPayload>(
  THUMBNAIL,
  async (p, ctx): Promise<ThumbnailResult> => {
    if (!/\.(jpe?g|png)$/i.test(p.key)) {
      throw new NonRetryableError(`not an image: ${p.key}`); // straight to the DLQ, no retry
    }
    ctx.progress({ done: 0, total: 1 });
    ctx.signal.throwIfAborted(); // cancelled, timed out or shutting down
    ctx.logger.info({ bucket: p.bucket, key: p.key, attempt: ctx.attempt }, 'thumbnail');
    ctx.updateMetrics('thumbnails', 1);
    return { thumbnail: `${p.bucket}/thumbs/${p.key}@${p.size}`, size: p.size };
  },
  { schema: ThumbnailPayload, concurrency: 4 },
);
