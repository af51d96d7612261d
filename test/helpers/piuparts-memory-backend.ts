/**
 * An in-memory piuparts master for protocol tests: sections with package
 * lists, reservations and submissions kept in arrays, every backend call
 * recorded. Not a model of piuparts' state computation: a package is
 * waiting until it has a result, nothing depends on anything.
 */
import type { PiupartsBackend, PiupartsBackendFactory, SubmissionKind } from '../../src/ecosystems/debian/piuparts-master/backend.ts';
import { ACTIVE_STATES } from '../../src/ecosystems/debian/state-names.ts';

/** A package the memory master hands out. */
export interface MemoryPackage {
  name: string;
  version: string;
}

/** One section's setup. */
export interface MemorySectionSetup {
  packages: MemoryPackage[];
  /** Whether results are marked for retest (`recycle` answers ok). Default false. */
  recycle?: boolean;
  /** What `idle` answers, in seconds (default 0). */
  idleSeconds?: number;
  /** `idle` answers this once a `reserve` found nothing (default: leave idleSeconds alone). */
  idleAfterEmpty?: number;
}

/** A result as the backend received it. */
export interface MemorySubmission {
  slave: string;
  section: string;
  kind: SubmissionKind;
  name: string;
  version: string;
  log: string;
}

/** A backend call as recorded: which slave, which method, its arguments. */
export interface MemoryCall {
  slave: string;
  method: string;
  args: unknown[];
}

interface SectionState extends Required<Omit<MemorySectionSetup, 'idleAfterEmpty'>> {
  idleAfterEmpty?: number;
  /** `name version` → slave that holds it. */
  reserved: Map<string, string>;
}


const RESULT_STATE: Record<SubmissionKind, string> = { pass: 'successfully-tested', fail: 'failed-testing', untestable: 'cannot-be-tested' };

/** The memory master: create backends with `backendFor`, inspect `submissions` and `calls`. */
export class MemoryPiupartsMaster {
  readonly sections = new Map<string, SectionState>();
  /** Results in arrival order; a later one for the same section, package and version replaces the earlier. */
  readonly submissions: MemorySubmission[] = [];
  readonly calls: MemoryCall[] = [];
  /** The slave names connections were opened for, in order. */
  readonly slaves: string[] = [];
  /** Connections whose backend was closed. */
  closed = 0;
  /** When set, `submit` throws this message (a disk error). */
  failSubmit: string | null = null;

  constructor(sections: Record<string, MemorySectionSetup>) {
    for (const [name, s] of Object.entries(sections)) {
      this.sections.set(name, { packages: s.packages, recycle: s.recycle ?? false, idleSeconds: s.idleSeconds ?? 0, idleAfterEmpty: s.idleAfterEmpty, reserved: new Map() });
    }
  }

  private section(name: string): SectionState {
    const s = this.sections.get(name);
    if (!s) throw new Error(`the session asked about section ${name}, which hasSection denied`);
    return s;
  }

  private result(section: string, p: MemoryPackage): MemorySubmission | undefined {
    return this.submissions.find((r) => r.section === section && r.name === p.name && r.version === p.version);
  }

  /** Counts per active state, as a piuparts status line lists them. */
  counts(section: string): Array<[string, number]> {
    const counts = new Map<string, number>(ACTIVE_STATES.map((s) => [s, 0]));
    for (const p of this.section(section).packages) {
      const r = this.result(section, p);
      const state = r ? RESULT_STATE[r.kind] : 'waiting-to-be-tested';
      counts.set(state, counts.get(state)! + 1);
    }
    return [...counts];
  }

  /** A PiupartsBackendFactory over this memory master. */
  readonly backendFor: PiupartsBackendFactory = (slave: string): PiupartsBackend => {
    this.slaves.push(slave);
    const call = (method: string, ...args: unknown[]) => this.calls.push({ slave, method, args });
    return {
      hasSection: (section) => {
        call('hasSection', section);
        return this.sections.has(section);
      },
      canRecycle: async (section) => {
        call('canRecycle', section);
        return this.section(section).recycle;
      },
      idleSeconds: async (section) => {
        call('idleSeconds', section);
        return this.section(section).idleSeconds;
      },
      reserve: async (section) => {
        call('reserve', section);
        const s = this.section(section);
        const p = s.packages.find((q) => !s.reserved.has(`${q.name} ${q.version}`) && !this.result(section, q));
        if (!p) {
          if (s.idleAfterEmpty !== undefined) s.idleSeconds = s.idleAfterEmpty;
          return null;
        }
        s.reserved.set(`${p.name} ${p.version}`, slave);
        return { name: p.name, version: p.version };
      },
      unreserve: async (section, name, version) => {
        call('unreserve', section, name, version);
        this.section(section).reserved.delete(`${name} ${version}`);
      },
      submit: async (section, kind, name, version, log) => {
        call('submit', section, kind, name, version);
        if (this.failSubmit) throw new Error(this.failSubmit);
        this.section(section).reserved.delete(`${name} ${version}`);
        const i = this.submissions.findIndex((r) => r.section === section && r.name === name && r.version === version);
        if (i >= 0) this.submissions.splice(i, 1);
        this.submissions.push({ slave, section, kind, name, version, log });
      },
      status: async (section) => {
        call('status', section);
        return this.counts(section);
      },
      close: () => {
        this.closed++;
      },
    };
  };
}
