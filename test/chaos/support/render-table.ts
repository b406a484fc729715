/**
 * Print the scenario table of docs/reliability.md from the JSON reports in
 * `.data/reliability/`:
 *   node --conditions=source --import tsx test/chaos/support/render-table.ts
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { reportDir } from './paths.js';
import type { ScenarioReport } from './report.js';

if (!existsSync(reportDir)) {
  console.error(`no reports in ${reportDir}: run npx vitest run test/chaos first`);
  process.exit(1);
}
const reports = readdirSync(reportDir)
  .filter((f) => f.endsWith('.json'))
  .map((f) => JSON.parse(readFileSync(join(reportDir, f), 'utf8')) as ScenarioReport)
  .sort((a, b) => a.id.localeCompare(b.id, 'en', { numeric: true }));
const rows = [
  '| # | scenario | jobs | succeeded / dead / cancelled | lost | >1 terminal (records / events) | wrong outcome | extra runs (unplanned) | crashes | faults | time |',
  '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
];
for (const r of reports) {
  const faults = Object.entries(r.faults)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  rows.push(
    `| ${r.id} | ${r.title} | ${r.jobsScheduled} | ${r.terminal.succeeded} / ${r.terminal.dead} / ${r.terminal.cancelled} | ${r.lost} | ${r.multipleTerminal} (${r.multipleTerminalRecords ?? 0} / ${r.multipleTerminalEvents ?? 0}) | ${r.wrongOutcome} | ${r.extraExecutions} (${r.unplannedExecutions}) | ${r.crashes} | ${faults || '-'} | ${Math.round(r.durationMs / 1000)} s |`,
  );
}
console.log(rows.join('\n'));
