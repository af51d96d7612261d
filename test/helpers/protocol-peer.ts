/** A scripted worker that speaks protocol v1 by hand, for fault tests. */
import { PROTOCOL_VERSION } from '../../src/version.ts';

export interface Peer {
  workerId: number;
  call(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<{ status: number; json: Record<string, unknown> }>;
}

/** Say hello with `token` declaring `targets` of the shell ecosystem. */
export async function helloPeer(url: string, token: string, targets = ['shell-a'], name = 'peer'): Promise<Peer> {
  const call: Peer['call'] = async (method, path, body, headers = {}) => {
    const r = await fetch(`${url}/api/v1/${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body !== undefined && !(body instanceof Uint8Array) ? { 'content-type': 'application/json' } : {}), ...headers },
      body: body === undefined ? undefined : body instanceof Uint8Array ? Buffer.from(body) : JSON.stringify(body),
    });
    const text = await r.text();
    return { status: r.status, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
  };
  const h = await call('POST', 'hello', { protocol: PROTOCOL_VERSION, kilnVersion: 'test', name, facts: {}, targets: targets.map((t) => ({ name: t, ecosystem: 'shell', facts: {} })), labels: [] });
  if (!h.json.accepted) throw new Error(`hello refused: ${JSON.stringify(h.json)}`);
  return { workerId: h.json.workerId as number, call };
}
