/**
 * Known problems, run over each Debian result's log as it arrives: the
 * problems found are recorded for the reports, and a failure that is the
 * infrastructure's fault (network, mirror, piuparts itself) expires the
 * result so the package is tested again, as piuparts' detect_network_issues
 * and detect_piuparts_issues do.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { EcosystemHost } from '../types.ts';
import type { KnownProblemClassifier } from './known-problems.ts';
import { recordProblems } from './results-db.ts';

const KIND = { passed: 'pass', failed: 'fail', untestable: 'untestable' } as const;

/**
 * Classify one ended build's published log.
 * @returns the problem ids found, and whether the result is an
 *   infrastructure failure (maintenance expires those, hourly, so a mirror
 *   that is out of step does not make a package loop); null when the build
 *   is not a Debian result or its log is missing.
 */
export async function classifyResult(host: EcosystemHost, classifier: KnownProblemClassifier, buildId: number): Promise<{ problems: string[]; infrastructure: boolean } | null> {
  const rows = await host.db.query<{ status: string }>('SELECT status FROM builds WHERE id = $1', [buildId]);
  const status = rows[0]?.status;
  if (status !== 'passed' && status !== 'failed' && status !== 'untestable') return null;
  const gz = await readFile(join(host.outputPath, host.logPath(buildId))).catch(() => null);
  if (!gz) return null;
  const text = gunzipSync(gz).toString('utf8');
  const kind = KIND[status];
  const problems = classifier.classify(text, kind);
  await recordProblems(host.db, buildId, problems);
  return { problems, infrastructure: kind !== 'pass' && classifier.isInfrastructure(problems) };
}
