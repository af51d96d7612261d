/**
 * piwheels' slave-queue messages (piw-slave ↔ piw-master), as CBOR
 * (RFC 8949). A message is a bare string `"MSG"` or a pair `["MSG", data]`.
 * piwheels adds two tags: 2001, a timedelta as `[days, seconds,
 * microseconds]` (a plain number of seconds is accepted too), and 2002,
 * "no data". Timestamps are CBOR tag 0 or 1 datetimes.
 *
 * The shapes follow piwheels' `protocols.py` (0.23): see
 * shared/reference/piwheels.md. Two generations of `BUILT` file entries
 * exist: 9 fields (dependencies last) and 11 (requires_python before the
 * dependencies, location after); both are read.
 */
import { decode, encode, Tag } from 'cbor2';
import { z } from 'zod';

/** CBOR tag piwheels uses for a timedelta. */
export const TAG_TIMEDELTA = 2001;
/** CBOR tag piwheels uses for "no data". */
export const TAG_NODATA = 2002;

/** Seconds in a decoded timedelta (tag 2001 `[days, seconds, microseconds]`, or a plain number). */
const timedelta = z.unknown().transform((v, ctx) => {
  const inner = v instanceof Tag && Number(v.tag) === TAG_TIMEDELTA ? v.contents : v;
  if (typeof inner === 'number' && Number.isFinite(inner) && inner >= 0) return inner;
  if (Array.isArray(inner) && inner.length === 3 && inner.every((x) => typeof x === 'number')) {
    const [d, s, us] = inner as [number, number, number];
    return d * 86400 + s + us / 1e6;
  }
  ctx.addIssue({ code: 'custom', message: 'expected a timedelta (CBOR tag 2001)' });
  return z.NEVER;
});

const text = z.string().max(10_000);

/** HELLO's data, piwheels 0.17+ (10 fields) or older (timeout, py_version, abi, platform, label). */
const hello = z.union([
  z
    .tuple([timedelta, timedelta, text, text, text, text, text, text, text, text])
    .transform(([buildTimeoutS, busyTimeoutS, pyVersion, abi, platform, label, osName, osVersion, boardRevision, boardSerial]) => ({
      buildTimeoutS,
      busyTimeoutS,
      pyVersion,
      abi,
      platform,
      label,
      osName,
      osVersion,
      boardRevision,
      boardSerial,
    })),
  z.tuple([timedelta, text, text, text, text]).transform(([buildTimeoutS, pyVersion, abi, platform, label]) => ({
    buildTimeoutS,
    busyTimeoutS: 300,
    pyVersion,
    abi,
    platform,
    label,
    osName: '',
    osVersion: '',
    boardRevision: '',
    boardSerial: '',
  })),
]);

/** A slave's HELLO. Timeouts in seconds. */
export type SlaveHello = z.infer<typeof hello>;

const dependencies = z.record(z.string(), z.array(z.string().max(500)).max(1000));

/** One file of BUILT: 9-field or 11-field form, normalised. */
const builtFile = z
  .array(z.unknown())
  .min(9)
  .max(11)
  .transform((a, ctx) => {
    const eleven = typeof a[8] === 'string' || a[8] === null;
    const parsed = z
      .object({
        filename: text,
        size: z.number().int().nonnegative(),
        sha256: z.string(),
        packageTag: text,
        versionTag: text,
        pyTag: text,
        abiTag: text,
        platformTag: text,
        requiresPython: z.string().nullable(),
        dependencies,
      })
      .safeParse({
        filename: a[0],
        size: a[1],
        sha256: a[2],
        packageTag: a[3],
        versionTag: a[4],
        pyTag: a[5],
        abiTag: a[6],
        platformTag: a[7],
        requiresPython: eleven ? a[8] : null,
        dependencies: eleven ? a[9] : a[8],
      });
    if (!parsed.success) {
      for (const issue of parsed.error.issues) ctx.addIssue({ code: 'custom', message: `${issue.path.join('.')}: ${issue.message}` });
      return z.NEVER;
    }
    return parsed.data;
  });

/** A file a slave says it built. Sizes in bytes; sha256 as the slave sent it. */
export type BuiltFileState = z.infer<typeof builtFile>;

const built = z.tuple([z.boolean(), timedelta, z.string(), z.array(builtFile).max(100)]).transform(([status, durationS, output, files]) => ({ status, durationS, output, files }));

/** A slave's BUILT report. Duration in seconds. */
export type SlaveBuilt = z.infer<typeof built>;

/** IDLE/BUSY carry machine stats; Kiln keeps them only as facts, so any short array (or none) is accepted. */
const stats = z.array(z.unknown()).max(20).optional();

/** Every message a slave sends, with its parsed data. */
export type SlaveMessage =
  | { msg: 'HELLO'; data: SlaveHello }
  | { msg: 'IDLE' | 'BUSY'; data: unknown[] | undefined }
  | { msg: 'BUILT'; data: SlaveBuilt }
  | { msg: 'SENT' | 'BYE'; data: undefined };

const schemas = { HELLO: hello, IDLE: stats, BUSY: stats, BUILT: built, SENT: z.undefined(), BYE: z.undefined() } as const;

/**
 * Decode one slave-queue frame.
 * @returns the message, or a one-line reason it is not a valid slave message
 *   (not CBOR, not a string or pair, an unknown message, data of the wrong shape).
 */
export function decodeSlaveMessage(frame: Uint8Array): SlaveMessage | string {
  let raw: unknown;
  try {
    raw = decode(frame);
  } catch (err) {
    return `not CBOR: ${(err as Error).message}`;
  }
  let msg: unknown;
  let data: unknown;
  if (typeof raw === 'string') msg = raw;
  else if (Array.isArray(raw) && raw.length === 2) [msg, data] = raw as [unknown, unknown];
  else return 'expected "MSG" or ["MSG", data]';
  if (data instanceof Tag && Number(data.tag) === TAG_NODATA) data = undefined;
  if (typeof msg !== 'string' || !(msg in schemas)) return `unknown message ${JSON.stringify(msg)?.slice(0, 40)}`;
  const r = schemas[msg as keyof typeof schemas].safeParse(data);
  if (!r.success) return `bad data for ${msg}: ${r.error.issues.map((i) => `${i.path.join('.') || '(data)'} ${i.message}`).join('; ')}`;
  return { msg, data: r.data } as SlaveMessage;
}

/** What the master sends a slave. */
export type MasterReply =
  | { msg: 'ACK'; data: [slaveId: number, pypiSimpleUrl: string] }
  | { msg: 'SLEEP'; data: boolean }
  | { msg: 'BUILD'; data: [pkg: string, version: string] }
  | { msg: 'SEND'; data: string }
  | { msg: 'CONT' | 'DONE' | 'DIE' };

/** Encode a reply as piwheels does: a bare string without data, a pair with it. */
export function encodeMasterReply(r: MasterReply): Uint8Array {
  return 'data' in r ? encode([r.msg, r.data]) : encode(r.msg);
}
