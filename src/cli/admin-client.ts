import { KilnError } from '../errors.ts';
import type { AdminTarget } from './common.ts';

/**
 * Call the master's admin API and return the JSON answer.
 * @throws KilnError with the master's message for a refusal, or a hint when it cannot be reached.
 */
export async function adminCall<T = Record<string, unknown>>(t: AdminTarget, method: string, path: string, body?: unknown): Promise<T> {
  let res: Response;
  try {
    res = await fetch(`${t.url}/api/v1/admin/${path}`, {
      method,
      headers: { authorization: `Bearer ${t.token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: body !== undefined ? JSON.stringify(body) : undefined,
      signal: AbortSignal.timeout(10 * 60_000),
    });
  } catch (err) {
    throw new KilnError(`cannot reach the master at ${t.url} (${(err as Error).cause instanceof Error ? ((err as Error).cause as Error).message : (err as Error).message}); is it running? (--master URL)`);
  }
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new KilnError(`the master answered ${res.status} with non-JSON: ${text.slice(0, 200)}`);
  }
  if (!res.ok) throw new KilnError(`master refused: ${(json as { message?: string }).message ?? text}`);
  return json as T;
}
