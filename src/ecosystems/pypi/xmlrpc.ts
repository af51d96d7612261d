/**
 * A small XML-RPC client (http://xmlrpc.com/spec.md), enough for PyPI's
 * `changelog_since_serial` and `changelog_last_serial`, plus the encoder
 * the test upstream uses to answer. Values: int/i4/i8, boolean, string
 * (also untyped), double, nil, array, struct, dateTime.iso8601 (kept as a
 * string), base64 (decoded to a Buffer).
 */
import { XMLParser } from 'fast-xml-parser';
import { errorText, UpstreamError } from './source.ts';

/** An XML-RPC value as decoded. */
export type XmlRpcValue = number | boolean | string | null | Buffer | XmlRpcValue[] | { [key: string]: XmlRpcValue };

/** The server answered with an XML-RPC fault. */
export class XmlRpcFault extends Error {
  constructor(
    readonly faultCode: number,
    readonly faultString: string,
  ) {
    super(`XML-RPC fault ${faultCode}: ${faultString}`);
    this.name = 'XmlRpcFault';
  }
}


function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Encode one value as `<value>…</value>`. */
export function encodeValue(v: XmlRpcValue): string {
  if (v === null) return '<value><nil/></value>';
  if (typeof v === 'boolean') return `<value><boolean>${v ? 1 : 0}</boolean></value>`;
  if (typeof v === 'number') return Number.isInteger(v) ? `<value><int>${v}</int></value>` : `<value><double>${v}</double></value>`;
  if (typeof v === 'string') return `<value><string>${esc(v)}</string></value>`;
  if (Buffer.isBuffer(v)) return `<value><base64>${v.toString('base64')}</base64></value>`;
  if (Array.isArray(v)) return `<value><array><data>${v.map(encodeValue).join('')}</data></array></value>`;
  const members = Object.entries(v).map(([k, x]) => `<member><name>${esc(k)}</name>${encodeValue(x)}</member>`);
  return `<value><struct>${members.join('')}</struct></value>`;
}

/** A `methodCall` document. */
export function methodCallXml(method: string, params: XmlRpcValue[]): string {
  const ps = params.map((p) => `<param>${encodeValue(p)}</param>`).join('');
  return `<?xml version="1.0"?>\n<methodCall><methodName>${esc(method)}</methodName><params>${ps}</params></methodCall>\n`;
}

/** A `methodResponse` document carrying one value. */
export function methodResponseXml(value: XmlRpcValue): string {
  return `<?xml version="1.0"?>\n<methodResponse><params><param>${encodeValue(value)}</param></params></methodResponse>\n`;
}

/** A `methodResponse` document carrying a fault. */
export function faultResponseXml(code: number, message: string): string {
  return `<?xml version="1.0"?>\n<methodResponse><fault>${encodeValue({ faultCode: code, faultString: message })}</fault></methodResponse>\n`;
}

// fast-xml-parser's ordered form: each node is { tag: children[] } or { '#text': string }.
type Node = Record<string, unknown>;

const parser = new XMLParser({
  preserveOrder: true,
  parseTagValue: false,
  trimValues: false,
  ignoreAttributes: true,
  ignoreDeclaration: true,
  processEntities: true,
  htmlEntities: true,
});

function tagOf(n: Node): string | null {
  return Object.keys(n).find((k) => k !== '#text' && k !== ':@') ?? null;
}

function childrenOf(n: Node): Node[] {
  const t = tagOf(n);
  return t ? ((n[t] as Node[] | undefined) ?? []) : [];
}

function elements(nodes: Node[]): Node[] {
  return nodes.filter((n) => tagOf(n) !== null);
}

function textOf(nodes: Node[]): string {
  return nodes.map((n) => (typeof n['#text'] === 'string' ? n['#text'] : String(n['#text'] ?? ''))).join('');
}

function child(nodes: Node[], tag: string): Node | undefined {
  return elements(nodes).find((n) => tagOf(n) === tag);
}

function decodeValue(valueNode: Node): XmlRpcValue {
  const kids = childrenOf(valueNode);
  const typed = elements(kids)[0];
  if (!typed) return textOf(kids);
  const t = tagOf(typed)!;
  const inner = childrenOf(typed);
  switch (t) {
    case 'int':
    case 'i4':
    case 'i8': {
      const n = Number(textOf(inner).trim());
      if (!Number.isInteger(n)) throw new Error(`XML-RPC: bad ${t} ${JSON.stringify(textOf(inner))}`);
      return n;
    }
    case 'double':
      return Number(textOf(inner).trim());
    case 'boolean':
      return textOf(inner).trim() === '1';
    case 'string':
    case 'dateTime.iso8601':
      return textOf(inner);
    case 'base64':
      return Buffer.from(textOf(inner).replace(/\s+/g, ''), 'base64');
    case 'nil':
      return null;
    case 'array': {
      const data = child(inner, 'data');
      return data ? elements(childrenOf(data)).filter((n) => tagOf(n) === 'value').map(decodeValue) : [];
    }
    case 'struct': {
      const out: Record<string, XmlRpcValue> = {};
      for (const m of elements(inner).filter((n) => tagOf(n) === 'member')) {
        const mk = childrenOf(m);
        const name = child(mk, 'name');
        const value = child(mk, 'value');
        if (name && value) out[textOf(childrenOf(name))] = decodeValue(value);
      }
      return out;
    }
    default:
      throw new Error(`XML-RPC: unknown value type <${t}>`);
  }
}

/**
 * Decode a `methodResponse`.
 * @throws XmlRpcFault for a fault, Error for a document that is not a methodResponse.
 */
export function parseMethodResponse(xml: string): XmlRpcValue {
  let doc: Node[];
  try {
    doc = parser.parse(xml) as Node[];
  } catch (err) {
    throw new Error(`XML-RPC: unreadable response: ${err instanceof Error ? err.message : String(err)}`);
  }
  const resp = child(doc, 'methodResponse');
  if (!resp) throw new Error('XML-RPC: not a methodResponse');
  const kids = childrenOf(resp);
  const fault = child(kids, 'fault');
  if (fault) {
    const v = child(childrenOf(fault), 'value');
    const f = v ? decodeValue(v) : null;
    const s = f && typeof f === 'object' && !Array.isArray(f) && !Buffer.isBuffer(f) ? f : {};
    throw new XmlRpcFault(Number(s.faultCode ?? 0), String(s.faultString ?? 'unknown fault'));
  }
  const param = child(childrenOf(child(kids, 'params') ?? {}), 'param');
  const value = param ? child(childrenOf(param), 'value') : undefined;
  if (!value) throw new Error('XML-RPC: methodResponse without a value');
  return decodeValue(value);
}

/**
 * Decode a `methodCall` (used by the test upstream).
 * @throws Error for a document that is not a methodCall.
 */
export function parseMethodCall(xml: string): { method: string; params: XmlRpcValue[] } {
  const doc = parser.parse(xml) as Node[];
  const call = child(doc, 'methodCall');
  if (!call) throw new Error('XML-RPC: not a methodCall');
  const kids = childrenOf(call);
  const name = child(kids, 'methodName');
  const params = elements(childrenOf(child(kids, 'params') ?? {}))
    .map((p) => child(childrenOf(p), 'value'))
    .filter((v): v is Node => v !== undefined)
    .map(decodeValue);
  return { method: name ? textOf(childrenOf(name)).trim() : '', params };
}

/**
 * Call a method over HTTP POST.
 * @throws UpstreamError on HTTP errors and network failures, XmlRpcFault on faults,
 *   Error when the answer is not a methodResponse.
 */
export async function callXmlRpc(
  fetchImpl: typeof fetch,
  url: string,
  method: string,
  params: XmlRpcValue[],
  signal: AbortSignal,
): Promise<XmlRpcValue> {
  let res: Response;
  try {
    res = await fetchImpl(url, {
      method: 'POST',
      headers: { 'content-type': 'text/xml', accept: 'text/xml' },
      body: methodCallXml(method, params),
      signal,
    });
  } catch (err) {
    if (signal.aborted) throw err;
    throw new UpstreamError(0, `POST ${url} ${method}: ${errorText(err)}`);
  }
  if (!res.ok) {
    await res.body?.cancel();
    throw new UpstreamError(res.status, `POST ${url} ${method}: HTTP ${res.status}`);
  }
  return parseMethodResponse(await res.text());
}
