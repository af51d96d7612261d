/**
 * Reading a Debian job spec on the worker: the master's {@link DebianJobSpec}
 * checked key by key, so a master and worker that disagree fail with a
 * readable message instead of a piuparts command with `undefined` in it.
 */
import { z } from 'zod';
import type { Json } from '../types.ts';
import type { DebianJobSpec } from './job-spec.ts';

const word = z.string().min(1);

const specSchema = z.object({
  section: word,
  mirror: z.string().regex(/^(https?|file):\/\/\S+$/, 'expected an http(s):// or file:// URL'),
  distro: word,
  upgradeTestDistros: z.array(word),
  indexDistro: word,
  components: z.array(word).min(1),
  arch: word,
  piupartsCommand: z.array(word).min(1),
  piupartsFlags: z.array(word),
  keepSourcesList: z.boolean(),
  maxTgzAge: z.number().int(),
  minTgzRetryDelay: z.number().int().min(0),
  tmpdir: word.nullable(),
  package: word.regex(/^[^/\s]+$/, 'a package name has no "/" or white space'),
  version: word.regex(/^\S+$/, 'a version has no white space'),
}) satisfies z.ZodType<DebianJobSpec>;

/**
 * Check a job's spec against {@link DebianJobSpec}.
 * @returns the spec, with the mirror's trailing slashes removed.
 * @throws Error (a worker fault: the master requeues the build) naming
 *   the first bad or missing key.
 */
export function readDebianJobSpec(spec: Json): DebianJobSpec {
  const r = specSchema.safeParse(spec);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw new Error(`debian job spec: ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  return { ...r.data, mirror: r.data.mirror.replace(/\/+$/, '') };
}
