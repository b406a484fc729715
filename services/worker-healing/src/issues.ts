/** Keeps the issue list of a checkpoint or result within a byte budget (KV values and job records are bounded). */
import type { HealIssue } from './summary.js';

/** Bytes the listed issues may take as JSON. */
export const ISSUES_BUDGET_BYTES = 256 * 1024;

/** Trims `holder.issues` to the budget, counting what it drops in `holder.issuesDropped`. */
export function fitIssues(holder: { issues: HealIssue[]; issuesDropped: number }): HealIssue[] {
  let bytes = 2;
  let keep = 0;
  for (const issue of holder.issues) {
    bytes += Buffer.byteLength(JSON.stringify(issue)) + 1;
    if (bytes > ISSUES_BUDGET_BYTES) break;
    keep++;
  }
  holder.issuesDropped += holder.issues.length - keep;
  return holder.issues.slice(0, keep);
}
