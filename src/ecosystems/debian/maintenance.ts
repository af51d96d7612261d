/**
 * piuparts' master cron jobs, as one pure decision per section run inside
 * the master: reschedule_oldest_logs (retest old passed and failed results,
 * expire retest marks nobody acted on) and report_untestable_packages
 * (retest untestable results after some days). Stale reservations need no
 * rule here: a reservation is a build whose lease lasts `reserved-days`, and
 * the core's lease sweep queues it again.
 */
import type { SectionConfig } from './section-config.ts';
import type { ResultRow } from './results-db.ts';

const DAY_MS = 86_400_000;

/** What one maintenance run decides for a section: build ids to mark, with why. */
export interface MaintenancePlan {
  retest: { ids: number[]; reason: string }[];
  expire: { ids: number[]; reason: string }[];
}

function oldest(rows: ResultRow[], olderThanDays: number, count: number, now: number): ResultRow[] {
  if (count <= 0) return [];
  return rows
    .filter((r) => r.finished_at && now - r.finished_at.getTime() > olderThanDays * DAY_MS)
    .sort((a, b) => a.finished_at!.getTime() - b.finished_at!.getTime())
    .slice(0, count);
}

/**
 * Decide one maintenance run over a section's current results.
 * - With `auto-reschedule`: results older than `reschedule-old-days`
 *   (passed or failed; at most `reschedule-old-count`, oldest first) and
 *   failed results older than `reschedule-fail-days` (at most
 *   `reschedule-fail-count`) are marked for retest. Retest marks on results
 *   older than `expire-old-days` / `expire-fail-days` (when those exceed the
 *   reschedule ages) expire the result, so the package is tested as new.
 * - Untestable results older than `reschedule-untestable-days` expire.
 * @param now ms since the epoch.
 */
export function planMaintenance(section: SectionConfig, results: ResultRow[], now: number): MaintenancePlan {
  const ended = results.filter((r) => r.status !== 'running' && r.mark !== 'expired');
  const plan: MaintenancePlan = { retest: [], expire: [] };
  if (section.autoReschedule) {
    const unmarked = ended.filter((r) => r.mark === null);
    const marked = ended.filter((r) => r.mark === 'retest');
    if (section.expireOldDays > section.rescheduleOldDays) {
      const ids = oldest(marked.filter((r) => r.status !== 'untestable'), section.expireOldDays, section.rescheduleOldCount, now).map((r) => r.build_id);
      plan.expire.push({ ids, reason: `marked for retest and older than expire-old-days (${section.expireOldDays})` });
    }
    if (section.expireFailDays > section.rescheduleFailDays) {
      const ids = oldest(marked.filter((r) => r.status === 'failed'), section.expireFailDays, section.rescheduleFailCount, now).map((r) => r.build_id);
      plan.expire.push({ ids, reason: `marked for retest and older than expire-fail-days (${section.expireFailDays})` });
    }
    const old = oldest(unmarked.filter((r) => r.status === 'passed' || r.status === 'failed'), section.rescheduleOldDays, section.rescheduleOldCount, now);
    plan.retest.push({ ids: old.map((r) => r.build_id), reason: `older than reschedule-old-days (${section.rescheduleOldDays})` });
    const taken = new Set(old.map((r) => r.build_id));
    const fail = oldest(unmarked.filter((r) => r.status === 'failed' && !taken.has(r.build_id)), section.rescheduleFailDays, section.rescheduleFailCount, now);
    plan.retest.push({ ids: fail.map((r) => r.build_id), reason: `failed result older than reschedule-fail-days (${section.rescheduleFailDays})` });
  }
  const untestable = ended.filter((r) => r.status === 'untestable' && r.finished_at && now - r.finished_at.getTime() > section.rescheduleUntestableDays * DAY_MS);
  plan.expire.push({ ids: untestable.map((r) => r.build_id), reason: `untestable for more than reschedule-untestable-days (${section.rescheduleUntestableDays})` });
  plan.retest = plan.retest.filter((p) => p.ids.length);
  plan.expire = plan.expire.filter((p) => p.ids.length);
  return plan;
}
