/**
 * The Debian part of `npm run bench`: what the master does per plan and per
 * report on a real section, the whole of bookworm main amd64 read from a
 * mirror: reading the Packages index, computing every package's piuparts
 * state, the waiting order (the queue), and rendering the section's report.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDb } from '../src/db/connect.ts';
import { migrate } from '../src/db/migrate.ts';
import { waitingOrder } from '../src/ecosystems/debian/blocking.ts';
import { renderSectionReport } from '../src/ecosystems/debian/report/render.ts';
import { sectionReport } from '../src/ecosystems/debian/report-data.ts';
import { resolveSection } from '../src/ecosystems/debian/section-config.ts';
import { readSectionIndex } from '../src/ecosystems/debian/section-index.ts';
import { snapshotOf } from '../src/ecosystems/debian/section-service.ts';
import { silentLogger } from '../src/log.ts';

/** Figures of one Debian bench run (ms unless named otherwise). */
export interface DebianResult {
  mirror: string;
  packages: number;
  readIndexMs: number;
  /** Median of `runs` state computations over the whole section. */
  statesMs: number;
  /** Median of `runs` waiting orders (blocking counts included). */
  orderMs: number;
  reportMs: number;
  reportFiles: number;
  reportMb: number;
  counts: Record<string, number>;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/**
 * Run the Debian bench.
 * @param mirror archive root (default deb.debian.org, or KILN_BENCH_DEBIAN_MIRROR).
 * @throws MirrorError when the mirror cannot be reached.
 */
export async function runDebian(opts: { mirror: string; distro: string; runs: number }): Promise<DebianResult> {
  const dir = await mkdtemp(join(tmpdir(), 'kiln-bench-debian-'));
  try {
    const section = resolveSection('bench', { distro: opts.distro, mirror: opts.mirror }, {}, 'amd64');
    let t = performance.now();
    const index = await readSectionIndex(section, join(dir, 'cache'), silentLogger());
    const readIndexMs = performance.now() - t;
    const names = [...index.packages.keys()];
    const statesRuns: number[] = [];
    const orderRuns: number[] = [];
    let snap = snapshotOf(section, index, names, [], []);
    for (let i = 0; i < opts.runs; i++) {
      t = performance.now();
      snap = snapshotOf(section, index, names, [], []);
      statesRuns.push(performance.now() - t);
      t = performance.now();
      waitingOrder(snap.states, { index: snap.blocking });
      orderRuns.push(performance.now() - t);
    }
    const db = await openDb({ dataDir: join(dir, 'db') });
    try {
      await migrate(db);
      t = performance.now();
      const report = await sectionReport(db, snap, [], (id) => `logs/${id}.txt.gz`, 'http://127.0.0.1:8470');
      const files = renderSectionReport(report);
      const reportMs = performance.now() - t;
      let bytes = 0;
      for (const f of files.values()) if ('content' in f) bytes += Buffer.byteLength(f.content);
      return {
        mirror: opts.mirror,
        packages: names.length,
        readIndexMs,
        statesMs: median(statesRuns),
        orderMs: median(orderRuns),
        reportMs,
        reportFiles: files.size,
        reportMb: Math.round(bytes / 1e5) / 10,
        counts: Object.fromEntries(Object.entries(snap.states.counts()).filter(([, n]) => n > 0)),
      };
    } finally {
      await db.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
