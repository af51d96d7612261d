/**
 * Publishes the Debian reports (report/render.ts) after the queue plans:
 * each section's pages from its latest states, and the index of sections.
 * Only files whose content changed are written, and files a section no
 * longer produces (a package that left it) are deleted. Rendering a whole
 * 65,000-package section takes tens of seconds, so reports are rewritten at
 * most every ten times the last rendering's duration (at least every 5 s).
 */
import { createHash } from 'node:crypto';
import type { EcosystemHost } from '../types.ts';
import { renderDebianIndex, renderSectionReport } from './report/render.ts';
import type { KnownProblem, SectionReport } from './report/model.ts';
import { sectionReport } from './report-data.ts';
import type { DebianService } from './section-service.ts';

/** Publishes the reports of every section of a Debian master. */
export class ReportPublisher {
  /** Output-relative path → sha1 of what was last written there. */
  readonly #written = new Map<string, string>();
  #lastMs = 0;
  #lastEnd = 0;
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<void> | null = null;
  #stopped = false;

  constructor(private readonly host: EcosystemHost, private readonly service: DebianService, private readonly problems: KnownProblem[]) {}

  /** Publish soon: now if the last rendering was long enough ago, else when it is. */
  schedule(): void {
    if (this.#timer || this.#stopped) return;
    const wait = Math.max(0, this.#lastEnd + Math.max(5_000, this.#lastMs * 10) - Date.now());
    this.#timer = setTimeout(() => {
      this.#timer = null;
      void this.publishNow().catch((err) => this.host.log.error({ err }, 'publishing the Debian reports failed'));
    }, wait);
  }

  /** Render and write every section's report now (after one in progress). */
  async publishNow(): Promise<void> {
    while (this.#running) await this.#running;
    this.#running = this.#publish().finally(() => { this.#running = null; });
    return this.#running;
  }

  async #publish(): Promise<void> {
    const started = Date.now();
    const reports: SectionReport[] = [];
    for (const section of this.service.sections) {
      const snap = this.service.snapshot(section.name);
      if (snap) reports.push(await sectionReport(this.host.db, snap, this.problems, (id) => this.host.logPath(id), this.host.baseUrl()));
    }
    const produced = new Set<string>();
    const write = async (files: ReturnType<typeof renderDebianIndex>) => {
      for (const [rel, f] of files) {
        if (!('content' in f)) continue;
        produced.add(rel);
        const sum = createHash('sha1').update(f.content).digest('hex');
        if (this.#written.get(rel) === sum) continue;
        await this.host.writeOutput(rel, f.content);
        this.#written.set(rel, sum);
      }
    };
    for (const r of reports) await write(renderSectionReport(r));
    await write(renderDebianIndex(reports));
    for (const rel of [...this.#written.keys()]) {
      if (produced.has(rel)) continue;
      await this.host.removeOutput(rel);
      this.#written.delete(rel);
    }
    this.#lastEnd = Date.now();
    this.#lastMs = this.#lastEnd - started;
  }

  /** Stop scheduling; a rendering that was due is done now, so the last results reach the reports. */
  async stop(): Promise<void> {
    this.#stopped = true;
    const due = this.#timer !== null;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    if (due) await this.publishNow().catch((err) => this.host.log.error({ err }, 'publishing the Debian reports failed'));
    else if (this.#running) await this.#running;
  }
}
