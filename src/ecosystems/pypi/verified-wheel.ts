/**
 * Describe a wheel the master itself received and verified (`kiln import`,
 * a piw-slave's transfer): its tags, and its METADATA as the PEP 658
 * `<wheel>.metadata` file. The master derives the metadata file from the
 * wheel rather than trusting a client's copy.
 */
import type { Json } from '../types.ts';
import { parseWheelFilename } from './wheel-name.ts';
import { wheelTags, type WheelTags } from './wheel-tags.ts';
import { parseCoreMetadata, readWheel } from './worker-wheel.ts';

/** A verified wheel's tags and METADATA bytes. */
export interface WheelDescription {
  tags: WheelTags & Json;
  /** Exact METADATA bytes, published as `<wheel>.metadata` (PEP 658). */
  metadata: Buffer;
}

/**
 * Read a verified wheel.
 * @param file where its bytes are (any name: the store names files by sha256).
 * @param filename the wheel's file name (PEP 427).
 * @param apt Debian packages it needs, when the machine that built it said so.
 * @returns the description, or a one-line reason it is not a usable wheel
 *   (not a wheel name, not a readable zip, no METADATA).
 */
export async function describeVerifiedWheel(file: string, filename: string, apt: string[] = []): Promise<WheelDescription | string> {
  const name = parseWheelFilename(filename);
  if (!name) return `${filename} is not a wheel file name (PEP 427)`;
  let metadata: Buffer | null;
  try {
    metadata = (await readWheel(file, null, filename)).metadata;
  } catch (err) {
    return `${filename} is not a readable wheel (zip): ${(err as Error).message}`;
  }
  if (!metadata) return `${filename} has no <name>-<version>.dist-info/METADATA; a wheel without METADATA is refused`;
  return { tags: wheelTags(name, parseCoreMetadata(metadata.toString('utf8')), apt) as WheelTags & Json, metadata };
}
