/**
 * The Debian master's running state: each section's index, its packages'
 * piuparts states computed from the results in Kiln's database, and the
 * queue planned from them (only `waiting-to-be-tested` packages, most
 * waited-on first, then results marked for retest, oldest first). Plans
 * again after every sync and result, and runs piuparts' maintenance.
 */
import type { Logger } from 'pino';
import type { EcosystemHost } from '../types.ts';
import { BlockingIndex, waitingOrder } from './blocking.ts';
import type { KnownProblemClassifier } from './known-problems.ts';
import { planMaintenance } from './maintenance.ts';
import { classifyResult } from './result-problems.ts';
import { buildsWithProblems, markResults, queueableVersions, recordCounts, sectionResults, type ResultRow } from './results-db.ts';
import type { SectionConfig } from './section-config.ts';
import { sectionPackages, testedNames, type SectionIndex } from './section-index.ts';
import type { SectionStates } from './section-states.ts';
import { ACTIVE_STATES, type LogKind } from './state-names.ts';
import { computeSectionStates, type PackageLog } from './states.ts';

/** One section's states and the results they came from. */
export interface SectionSnapshot {
  section: SectionConfig;
  index: SectionIndex;
  /** Tested names, in index order. */
  tested: string[];
  states: SectionStates;
  blocking: BlockingIndex;
  /** The counting results and reservations, by `name version`. */
  results: Map<string, { ended?: ResultRow; running?: ResultRow }>;
  /** When it was computed, ms since the epoch. */
  at: number;
  /** The logs the states came from, and the dependency sections (for recycle-mode states). */
  logs: PackageLog[];
  dependencySections: SectionStates[];
}

const LOG_KIND: Record<ResultRow['status'], LogKind> = { passed: 'pass', failed: 'fail', untestable: 'untestable', running: 'reserved' };

/** Run a section's packages' states from its index and results. */
export function snapshotOf(section: SectionConfig, index: SectionIndex, tested: string[], rows: ResultRow[], dependencySections: SectionStates[]): SectionSnapshot {
  const results = new Map<string, { ended?: ResultRow; running?: ResultRow }>();
  const logs: PackageLog[] = [];
  for (const r of rows) {
    const key = `${r.name} ${r.version}`;
    const slot = results.get(key) ?? {};
    if (r.status === 'running') slot.running = r;
    else if (r.mark !== 'expired') slot.ended = r;
    results.set(key, slot);
    if (r.status === 'running' || r.mark !== 'expired') logs.push({ name: r.name, version: r.version, kind: LOG_KIND[r.status] });
    if (r.mark === 'retest') logs.push({ name: r.name, version: r.version, kind: 'recycle' });
  }
  const states = computeSectionStates(sectionPackages(index.packages, tested), logs, { dependencySections });
  return { section, index, tested, states, blocking: new BlockingIndex(states), results, at: Date.now(), logs, dependencySections };
}

/** Sections ordered so that each comes after the sections it depends on (`depends-sections`). */
export function dependencyOrder(sections: SectionConfig[]): SectionConfig[] {
  const byName = new Map(sections.map((s) => [s.name, s]));
  const out: SectionConfig[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (s: SectionConfig, path: string[]) => {
    if (state.get(s.name) === 'done') return;
    if (state.get(s.name) === 'visiting') throw new Error(`depends-sections form a cycle: ${[...path, s.name].join(' → ')}`);
    state.set(s.name, 'visiting');
    for (const d of s.dependsSections) {
      const dep = byName.get(d);
      if (!dep) throw new Error(`[debian.sections.${s.name}] depends-sections names ${d}, which is not a configured section`);
      visit(dep, [...path, s.name]);
    }
    state.set(s.name, 'done');
    out.push(s);
  };
  for (const s of sections) visit(s, []);
  return out;
}

/** The running Debian state of a master. */
export class DebianService {
  readonly #indexes = new Map<string, { index: SectionIndex; tested: string[] }>();
  readonly #snapshots = new Map<string, SectionSnapshot>();
  /** When `reserve` last found a section with nothing to hand out (ms), for piuparts' `idle`. */
  readonly #idleSince = new Map<string, number>();
  #log: Logger | null = null;
  #host: EcosystemHost | null = null;
  #planner: ReturnType<EcosystemHost['every']> | null = null;
  #maintainer: ReturnType<EcosystemHost['every']> | null = null;
  #changeTimer: NodeJS.Timeout | null = null;
  /** Known problems run over each result's log as it arrives (set before start). */
  classifier: KnownProblemClassifier | null = null;
  /** Called after each plan (reports republish). */
  onPlanned: () => void = () => {};

  constructor(readonly sections: SectionConfig[]) {
    this.sections = dependencyOrder(sections);
  }

  /** The section of this name, or undefined. */
  section(name: string): SectionConfig | undefined {
    return this.sections.find((s) => s.name === name);
  }

  /** Record a section's freshly read index and the names it tests. */
  setIndex(name: string, index: SectionIndex, roots: Iterable<string>): string[] {
    const tested = testedNames(index.packages, roots);
    this.#indexes.set(name, { index, tested });
    if (index.changed) this.#idleSince.delete(name);
    return tested;
  }

  /** The index of a section, once synced. */
  indexOf(name: string): { index: SectionIndex; tested: string[] } | undefined {
    return this.#indexes.get(name);
  }

  /** The latest computed states of a section. */
  snapshot(name: string): SectionSnapshot | undefined {
    return this.#snapshots.get(name);
  }

  /** Begin planning and maintenance with the master's host. */
  start(host: EcosystemHost): void {
    this.#host = host;
    this.#log = host.log;
    this.#planner = host.every('debian queue plan', 60_000, () => this.planAll());
    this.#maintainer = host.every('debian maintenance', 3_600_000, () => this.maintainAll());
    host.onFinished((e) => {
      void (async () => {
        if (this.classifier) await classifyResult(host, this.classifier, e.buildId);
        await this.replan();
      })().catch((err) => this.#log?.error({ err, build: e.buildId }, 'classifying a Debian result failed'));
    });
    host.onSynced(() => void this.replan());
    host.onChanged(() => {
      // Many versions change in a burst (a sync, a rebuild of a whole package): plan once after it.
      if (this.#changeTimer) return;
      this.#changeTimer = setTimeout(() => {
        this.#changeTimer = null;
        void this.replan();
      }, 300);
    });
    this.#planner.start(0);
    this.#maintainer.start(30_000);
  }

  /** Plan again soon (coalesced with a plan in progress); resolves when a plan that saw the change is done. */
  replan(): Promise<void> {
    return this.#planner?.runNow() ?? Promise.resolve();
  }

  /** Run maintenance now (tests, `kiln` admin). */
  maintainNow(): Promise<void> {
    return this.#maintainer?.runNow() ?? Promise.resolve();
  }

  /** Stop the loops. */
  async stop(): Promise<void> {
    if (this.#changeTimer) clearTimeout(this.#changeTimer);
    await this.#planner?.stop();
    await this.#maintainer?.stop();
  }

  /** Compute every synced section's states (dependency sections first) and set each section's queue. */
  async planAll(): Promise<void> {
    const host = this.#host!;
    for (const section of this.sections) {
      const idx = this.#indexes.get(section.name);
      if (!idx) continue;
      const deps = section.dependsSections.map((d) => this.#snapshots.get(d)?.states).filter((s): s is SectionStates => !!s);
      const snap = snapshotOf(section, idx.index, idx.tested, await sectionResults(host.db, section.name), deps);
      this.#snapshots.set(section.name, snap);
      const queue = await this.queueFor(snap);
      await host.setQueue(section.name, queue);
      // piuparts' idle stamp goes stale as soon as results change the section; here, as soon as it has work.
      if (queue.length) this.clearIdle(section.name);
      await recordCounts(host.db, section.name, Object.fromEntries(ACTIVE_STATES.map((s) => [s, snap.states.inState(s).length])));
    }
    this.onPlanned();
  }

  /**
   * A section's queue: `waiting-to-be-tested` packages in piuparts' reserve
   * order (priority n…1), then results marked for retest whose package is
   * not reserved, oldest result first (priority below 0).
   */
  async queueFor(snap: SectionSnapshot): Promise<Array<{ versionId: number; priority: number }>> {
    const ids = await queueableVersions(this.#host!.db, snap.section.name);
    const out: Array<{ versionId: number; priority: number }> = [];
    const order = waitingOrder(snap.states, { index: snap.blocking });
    // Priorities are ranks scaled into (0, 1], so a worker serving several sections
    // takes each section's most waited-on package in turn rather than emptying one.
    order.forEach((name, i) => {
      const id = ids.get(`${name} ${snap.states.version(name)}`);
      if (id !== undefined) out.push({ versionId: id, priority: 1 - i / order.length });
    });
    let retest = [...snap.results.values()]
      .filter((r) => r.ended?.mark === 'retest' && !r.running && snap.states.version(r.ended.name) === r.ended.version)
      .map((r) => r.ended!)
      .sort((a, b) => (a.finished_at?.getTime() ?? 0) - (b.finished_at?.getTime() ?? 0));
    if (retest.length) {
      // As piuparts' recycle mode: a marked result no longer counts, so the package is
      // retested only when its dependencies would let it be tested now.
      const recycled = computeSectionStates(sectionPackages(snap.index.packages, snap.tested), snap.logs, { recycleMode: true, dependencySections: snap.dependencySections });
      retest = retest.filter((r) => recycled.state(r.name) === 'waiting-to-be-tested');
    }
    retest.forEach((r, i) => {
      const id = ids.get(`${r.name} ${r.version}`);
      if (id !== undefined) out.push({ versionId: id, priority: -(i + 1) / (retest.length + 1) });
    });
    return out;
  }

  /** piuparts' cron maintenance over every section, then a new plan if anything was marked. */
  async maintainAll(now = Date.now()): Promise<void> {
    const host = this.#host!;
    let marked = 0;
    for (const section of this.sections) {
      const snap = this.#snapshots.get(section.name);
      if (!snap) continue;
      // Results of superseded versions no longer count; piuparts archives their logs.
      const current = (await sectionResults(host.db, section.name)).filter((r) => snap.states.version(r.name) === r.version);
      const plan = planMaintenance(section, current, now);
      const infra = await buildsWithProblems(host.db, section.name, this.classifier ? [...this.classifier.infrastructureIds] : []);
      if (infra.length) plan.expire.push({ ids: infra, reason: 'an infrastructure failure (network, mirror or piuparts itself): tested again' });
      for (const p of plan.retest) marked += await markResults(host.db, p.ids, 'retest', p.reason);
      for (const p of plan.expire) marked += await markResults(host.db, p.ids, 'expired', p.reason);
      if (plan.retest.length || plan.expire.length) {
        this.#log?.info({ section: section.name, retest: plan.retest.flatMap((p) => p.ids).length, expired: plan.expire.flatMap((p) => p.ids).length }, 'rescheduled results');
      }
    }
    if (marked) await this.replan();
  }

  /** Note that `reserve` found nothing in a section (piuparts' idle stamp). */
  markIdle(section: string): void {
    if (!this.#idleSince.has(section)) this.#idleSince.set(section, Date.now());
  }

  /** Note that a section handed something out. */
  clearIdle(section: string): void {
    this.#idleSince.delete(section);
  }

  /**
   * Seconds a piuparts-slave should stay away from an idle section: what is
   * left of an hour since it was found idle, plus up to 2 minutes at random
   * (as piuparts-master); 0 when not known to be idle.
   */
  idleSeconds(section: string, now = Date.now()): number {
    const since = this.#idleSince.get(section);
    if (since === undefined) return 0;
    const ttl = since + 3_600_000 - now;
    if (ttl <= 0) return 0;
    return Math.floor(ttl / 1000) + Math.floor(Math.random() * 120);
  }
}
