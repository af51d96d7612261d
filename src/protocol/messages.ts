/**
 * Worker protocol v1 message shapes (docs/protocol.md), shared by master and
 * worker. All bodies are JSON except log chunks (text/plain) and artifact
 * uploads (application/octet-stream). Paths are under `/api/v1`.
 */
import { z } from 'zod';

/** Name a file may have to be accepted as an artifact: no path parts, no leading dot, printable ASCII, ≤ 255 bytes. */
export const SAFE_FILENAME = /^(?!\.)[A-Za-z0-9._+@-]{1,255}$/;

/** Why `name` is not a safe artifact file name, or null when it is. */
export function unsafeFilenameReason(name: string): string | null {
  if (name.includes('/') || name.includes('\\')) return 'file names may not contain path separators';
  if (name === '.' || name === '..' || name.startsWith('.')) return 'file names may not start with a dot';
  if (!SAFE_FILENAME.test(name)) return 'file names may only use letters, digits and . _ + @ -, up to 255 characters';
  return null;
}

const targetDecl = z.object({
  name: z.string().regex(/^[A-Za-z0-9._+-]{1,100}$/),
  ecosystem: z.string().min(1).max(40),
  facts: z.record(z.string(), z.unknown()),
});

/** POST /hello: the worker introduces itself. */
export const helloRequest = z.object({
  protocol: z.number().int(),
  kilnVersion: z.string(),
  name: z.string().min(1).max(100),
  facts: z.record(z.string(), z.unknown()),
  targets: z.array(targetDecl).max(200),
  labels: z.array(z.string().max(100)).max(50).default([]),
});
/** A parsed hello body. */
export type HelloRequest = z.infer<typeof helloRequest>;

/** Answer to hello: accepted with the worker's id and timings, or refused with the reason. */
export type HelloResponse =
  | { accepted: true; workerId: number; leaseS: number; heartbeatS: number; claimWaitS: number; masterVersion: string }
  | { accepted: false; reason: string };

/** POST /claim: long poll for a build. */
export const claimRequest = z.object({
  workerId: z.number().int().positive(),
  /** How long the master may hold the request, seconds. */
  waitS: z.number().min(0).max(300).optional(),
});

/** Answer to claim: a job, or null when nothing came within the wait. */
export interface ClaimResponse {
  job: {
    buildId: number;
    ecosystem: string;
    package: string;
    displayName: string;
    version: string;
    target: string;
    timeoutS: number;
    spec: Record<string, unknown>;
  } | null;
}

/** POST /builds/:id/heartbeat */
export const heartbeatRequest = z.object({ workerId: z.number().int().positive() });
/** Answer to heartbeat: whether the worker must cancel the build. */
export interface HeartbeatResponse {
  cancel: boolean;
  leaseExpires: string;
}

/** POST /builds/:id/finish */
export const finishRequest = z.object({
  workerId: z.number().int().positive(),
  status: z.enum(['passed', 'failed', 'untestable', 'cancelled']),
  /** Wall time of the build, milliseconds. */
  durationMs: z.number().int().min(0),
  failureReason: z.string().max(10_000).nullable().default(null),
  /** Files the worker uploaded and expects the master to hold; the master checks it has each. */
  artifacts: z
    .array(z.object({ filename: z.string(), sha256: z.string().regex(/^[0-9a-f]{64}$/), size: z.number().int().min(0) }))
    .default([]),
});
/** A parsed finish body. */
export type FinishRequest = z.infer<typeof finishRequest>;

/** Upload header: the file's sha256, lower-case hex; the master refuses the file if the bytes differ. */
export const HEADER_SHA256 = 'x-kiln-sha256';
/** Log and upload header: the worker id from hello (these bodies are not JSON). */
export const HEADER_WORKER = 'x-kiln-worker';
/** Upload header: the artifact's tags, a JSON object in base64url. */
export const HEADER_TAGS = 'x-kiln-tags';
/** Query parameter of a log chunk: the byte offset the chunk starts at, so retries do not duplicate text. */
export const LOG_OFFSET_PARAM = 'offset';

/** Error body of every non-2xx API answer. */
export interface ApiErrorBody {
  error: string;
  message: string;
}
