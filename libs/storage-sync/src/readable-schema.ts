/**
 * Adapts a zod schema to the worker runtime's `PayloadSchema`, turning its
 * issues into one readable line (`key: invalid object key "../x" ...`), which
 * is what a dead-lettered job carries as its reason.
 */
import type { PayloadSchema } from '@rfw/worker';
import type { z } from 'zod';

/** `field: message; field: message`. */
export function formatIssues(issues: readonly z.core.$ZodIssue[]): string {
  return issues
    .map((i) => `${i.path.length ? i.path.map(String).join('.') : 'payload'}: ${i.message}`)
    .join('; ');
}

export function readableSchema<T>(schema: z.ZodType<T>): PayloadSchema<T> {
  return {
    safeParse(input: unknown) {
      const r = schema.safeParse(input);
      if (r.success) return { success: true, data: r.data };
      return { success: false, error: { message: formatIssues(r.error.issues) } };
    },
  };
}
