import type { z } from 'zod';
import { httpErrors } from '../http-errors.ts';

/**
 * Validate a request body (or query) against a zod schema.
 * @returns the parsed value.
 * @throws HttpError 400 naming the first field that is wrong and why.
 */
export function parseBody<T extends z.ZodType>(schema: T, body: unknown): z.infer<T> {
  const r = schema.safeParse(body ?? {});
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw httpErrors.badRequest(`${i.path.join('.') || 'body'}: ${i.message}`);
  }
  return r.data;
}
