import { HttpError } from '../errors.ts';

/**
 * The API's message catalogue: every error a route can answer with, so that
 * codes and wording stay consistent. Each returns an HttpError to throw.
 */
export const httpErrors = {
  badRequest: (message: string) => new HttpError(400, 'bad_request', message),
  unauthorized: () => new HttpError(401, 'unauthorized', 'missing or invalid token'),
  forbidden: (message = 'this token may not do that') => new HttpError(403, 'forbidden', message),
  notFound: (what: string) => new HttpError(404, 'not_found', `${what} not found`),
  notUpstream: (ecosystem: string, name: string) => new HttpError(404, 'not_upstream', `${ecosystem} package ${name} does not exist upstream`),
  upstreamFailed: (ecosystem: string, name: string, why: string) =>
    new HttpError(502, 'upstream_failed', `asking upstream about ${ecosystem} package ${name} failed: ${why}`),
  unknownWorker: () => new HttpError(404, 'unknown_worker', 'unknown worker; send hello again'),
  leaseLost: (buildId: number) =>
    new HttpError(409, 'lease_lost', `build ${buildId} is no longer yours: its lease expired or it already ended`),
  conflict: (message: string) => new HttpError(409, 'conflict', message),
  unsafeFilename: (name: string, why: string) => new HttpError(400, 'unsafe_filename', `refused file name ${JSON.stringify(name)}: ${why}`),
  badArtifactName: (message: string) => new HttpError(422, 'bad_artifact_name', message),
  checksumMismatch: (expected: string, actual: string) =>
    new HttpError(422, 'checksum_mismatch', `sha256 mismatch: expected ${expected}, received ${actual}; the file was discarded`),
  sizeMismatch: (expected: number, actual: number) =>
    new HttpError(422, 'size_mismatch', `size mismatch: expected ${expected} bytes, received ${actual}; the file was discarded`),
  tooLarge: (limit: number) => new HttpError(413, 'too_large', `upload exceeds the limit of ${limit} bytes`),
  missingArtifact: (name: string) => new HttpError(422, 'missing_artifact', `artifact ${name} was not uploaded or does not match`),
  unsupportedMedia: (message: string) => new HttpError(415, 'unsupported_media_type', message),
  logGap: (offset: number, size: number) =>
    new HttpError(409, 'log_gap', `log offset ${offset} is beyond the ${size} bytes stored; resend from offset ${size}`),
  unknownEcosystem: (name: string) => new HttpError(400, 'unknown_ecosystem', `unknown ecosystem ${name}`),
} as const;
