/**
 * Assemble a section's report (report/model.ts) from the master's latest
 * states of the section and its results, problems and counts history in
 * the database.
 */
import type { Db } from '../../db/connect.ts';
import { formatRelation } from './relations.ts';
import type { KnownProblem, ReportPackage, SectionReport } from './report/model.ts';
import { countsHistory, sectionProblems, type ResultRow } from './results-db.ts';
import type { SectionSnapshot } from './section-service.ts';

const KIND: Record<Exclude<ResultRow['status'], 'running'>, 'pass' | 'fail' | 'untestable'> = { passed: 'pass', failed: 'fail', untestable: 'untestable' };

/**
 * Build the report of one section.
 * @param logPath output-relative path of a build's published log.
 */
export async function sectionReport(
  db: Db,
  snap: SectionSnapshot,
  problems: KnownProblem[],
  logPath: (buildId: number) => string,
  baseUrl: string,
): Promise<SectionReport> {
  const found = await sectionProblems(db, snap.section.name);
  const packages: ReportPackage[] = [];
  for (const name of snap.tested) {
    const p = snap.index.packages.get(name)!;
    const status = snap.states.status(name)!;
    const id = snap.states.graph.id(name)!;
    const counts = snap.blocking.countsOf(id);
    const r = snap.results.get(`${name} ${p.version}`);
    const entry: ReportPackage = {
      name,
      version: p.version,
      source: p.source,
      sourceVersion: p.sourceVersion,
      maintainer: p.maintainer,
      uploaders: snap.index.uploaders.get(p.source) ?? [],
      architecture: p.architecture,
      state: status.state,
      blocking: Math.max(counts.blocking, counts.waiting),
      depends: [
        ...p.preDepends.map((g) => g.map(formatRelation).join(' | ')),
        ...p.depends.map((g) => g.map(formatRelation).join(' | ')),
      ].join(', '),
    };
    if (status.blocker) entry.blocker = { dependency: status.blocker.dependency, state: status.blocker.state, ...(status.blocker.via ? { via: status.blocker.via } : {}) };
    if (r?.ended && r.ended.status !== 'running') {
      entry.result = {
        kind: KIND[r.ended.status],
        at: (r.ended.finished_at ?? r.ended.started_at).toISOString(),
        durationS: r.ended.duration_ms === null ? null : Math.round(r.ended.duration_ms / 100) / 10,
        worker: r.ended.worker,
        logUrl: logPath(r.ended.build_id),
        problems: found.get(r.ended.build_id) ?? [],
        retest: r.ended.mark === 'retest',
      };
    }
    if (r?.running) entry.reserved = { since: r.running.started_at.toISOString(), worker: r.running.worker };
    packages.push(entry);
  }
  const s = snap.section;
  return {
    section: s.name,
    description: s.description,
    distro: s.distro,
    area: s.area,
    arch: s.arch,
    mirror: s.mirror,
    upgradeTestDistros: s.upgradeTestDistros,
    indexDate: snap.index.modified?.toISOString() ?? null,
    generated: new Date(snap.at).toISOString(),
    packages,
    history: await countsHistory(db, s.name),
    problems,
    baseUrl,
  };
}
