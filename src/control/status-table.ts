// `steward --status`: the status document as a few aligned tables for a terminal.

import type { StatusDocument } from './status-document.ts';

function table(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  return [line(header), ...rows.map(line)];
}

const show = (v: string | number | boolean | null | undefined): string => (v === null || v === undefined ? '-' : String(v));

export function statusTable(s: StatusDocument): string {
  const exit = s.app.lastExit;
  const lines = [
    `steward ${s.version}, up ${s.uptimeSeconds}s: ${s.health.status} (${s.health.reason})`,
    `app: pid ${show(s.app.pid)}, started ${show(s.app.startedAt)}, ${s.app.restarts} restart(s)${exit === null ? '' : `, last exit ${exit.signal ?? exit.code ?? exit.status} at ${exit.at}`}${s.app.notifyStatus == null ? '' : `, status "${s.app.notifyStatus}"`}`,
  ];
  if (s.backend !== null) lines.push(`backend: ${s.backend.name} ${s.backend.connected ? 'connected' : 'unreachable'}${s.backend.lastError === null ? '' : ` (last error: ${s.backend.lastError})`}`);
  if (s.election !== null) {
    const e = s.election;
    lines.push(`election: ${show(e.role)}, leader ${show(e.leader)}, ${e.members.length} member(s)${e.holdsFencingToken ? ', holds the fencing token' : ''}`);
  }
  if (s.locks.length > 0) lines.push(`locks held: ${s.locks.join(', ')}`);
  if (s.resources.length > 0) {
    lines.push('', ...table(['RESOURCE', 'DEST', 'REVISION', 'RELOADS', 'LAST RENDER', 'OUTCOME', 'LAST ERROR'],
      s.resources.map((r) => [r.name, r.dest, String(r.revision), String(r.reloads), show(r.lastRender), show(r.lastOutcome), show(r.lastError)])));
  }
  if (s.jobs.length > 0) {
    lines.push('', ...table(['JOB', 'SCHEDULE', 'WHEN', 'LAST RUN', 'OK', 'EXIT', 'DURATION', 'NEXT RUN'],
      s.jobs.map((j) => [j.name, j.schedule, j.when, show(j.lastRun), show(j.ok), show(j.signal ?? j.exitCode), j.durationMs === null ? '-' : `${j.durationMs}ms`, show(j.nextRun)])));
  }
  return lines.join('\n');
}
