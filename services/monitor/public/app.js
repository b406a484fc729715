// The dashboard: one live overview from /api/events, rendered section by
// section, the stored schedules (read from /api/schedules while the page is
// live), plus the actions an operator needs (pause/resume a queue, pause,
// resume or remove a schedule, retry or purge dead letters, open, retry or
// cancel a job).
import {
  api,
  adoptTokenFromHash,
  followEvents,
  getToken,
  setToken,
  UnauthorizedError,
} from './api.js';
import { drawTimeline } from './chart.js';
import { ago, badge, clock, dateTime, duration, emptyRow, fill, h, num, rate } from './dom.js';

/** Bytes per second, e.g. `45.2 MB/s`. */
function bytesRate(b) {
  const units = ['B/s', 'kB/s', 'MB/s', 'GB/s'];
  let i = 0;
  while (b >= 1000 && i < units.length - 1) {
    b /= 1000;
    i++;
  }
  return `${b < 10 && i > 0 ? b.toFixed(1) : Math.round(b)} ${units[i]}`;
}

const $ = (sel) => document.querySelector(sel);
const state = { overview: undefined, events: [], dlqCount: -1, openJob: undefined };
const MAX_EVENTS = 100;

// --- feedback --------------------------------------------------------------

let toastTimer;
function toast(text, error = false) {
  const el = $('#toast');
  el.textContent = text;
  el.className = `toast show${error ? ' error' : ''}`;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => (el.className = 'toast'), 3500);
}

async function act(what, fn) {
  try {
    const r = await fn();
    toast(what);
    return r;
  } catch (err) {
    if (err instanceof UnauthorizedError) showTokenForm();
    toast(err.message, true);
    return undefined;
  }
}

// --- sections --------------------------------------------------------------

function renderHeader(o) {
  $('#installation').textContent = o.installation;
  const m = o.monitor;
  $('#monitor-info').textContent = `monitor ${m.nodeId} · ${
    m.isLeader ? 'leader' : `leader ${m.leader ?? 'unknown'}`
  }`;
}

function renderCards(o) {
  const m = o.metrics ?? {};
  const rates = o.queues.reduce(
    (acc, q) => ({ done: acc.done + q.throughput, fail: acc.fail + q.failures }),
    { done: 0, fail: 0 },
  );
  const card = (label, value, kind, key) =>
    h(
      'div',
      { class: `card ${kind ?? ''}`, dataset: { card: key } },
      h('div', { class: 'label' }, label),
      h('div', { class: 'value' }, value),
    );
  fill($('#cards'), [
    card('Running', num(m.activeJobs), '', 'active'),
    card('Waiting', num(m.pending), '', 'pending'),
    card('Delayed', num(m.delayed), '', 'delayed'),
    card('Succeeded', num(m.completedJobs), 'ok', 'completed'),
    card('Dead', num(m.failedJobs), m.failedJobs ? 'bad' : '', 'failed'),
    card('In DLQ', num(m.dlq), m.dlq ? 'bad' : '', 'dlq'),
    card('Done / s', rate(rates.done), '', 'throughput'),
    card('Failed / s', rate(rates.fail), rates.fail ? 'bad' : '', 'failures'),
    card('Workers', num(m.workerCount), m.workerCount ? 'ok' : 'bad', 'workers'),
  ]);
}

function renderTimeline(o) {
  const t = o.timeline;
  $('#timeline-caption').textContent = `jobs per ${t.stepMs / 1000} s`;
  drawTimeline($('#timeline'), t);
}

function renderQueues(o) {
  const rows = [];
  let lastType;
  for (const q of o.queues) {
    const first = q.type !== lastType;
    lastType = q.type;
    const toggle = first
      ? h(
          'button',
          {
            type: 'button',
            dataset: { action: q.paused ? 'resume' : 'pause', type: q.type },
            onclick: () =>
              act(`${q.type} ${q.paused ? 'resumed' : 'paused'}`, () =>
                api(`/queues/${q.type}/${q.paused ? 'resume' : 'pause'}`, { method: 'POST' }),
              ),
          },
          q.paused ? 'Resume' : 'Pause',
        )
      : '';
    const cell = (col, v, cls = 'num') => h('td', { class: cls, dataset: { col } }, v);
    rows.push(
      h(
        'tr',
        { dataset: { type: q.type, priority: q.priority } },
        h(
          'td',
          {},
          first ? q.type : '',
          first && q.paused ? ' ' : '',
          first && q.paused ? badge('paused') : '',
        ),
        h(
          'td',
          {},
          badge(
            q.priority,
            q.priority === 'critical' ? 'bad' : q.priority === 'high' ? 'warn' : '',
          ),
        ),
        cell('pending', num(q.pending)),
        cell('running', num(q.running)),
        cell('delayed', num(q.delayed)),
        cell('succeeded', num(q.succeeded)),
        cell('dead', num(q.dead)),
        cell('throughput', rate(q.throughput)),
        cell('failures', rate(q.failures)),
        cell('oldest-wait', q.oldestWaitingMs ? duration(q.oldestWaitingMs) : '–'),
        cell('run-p50', q.runTime?.count ? duration(q.runTime.p50) : '–'),
        cell('run-p99', q.runTime?.count ? duration(q.runTime.p99) : '–'),
        cell('workers', num(q.workers)),
        h('td', { class: 'num' }, toggle),
      ),
    );
  }
  fill($('#queues tbody'), rows.length ? rows : [emptyRow(14, 'No jobs yet')]);
}

function renderNodes(o) {
  const up = o.nodes.filter((n) => n.status === 'up').length;
  $('#nodes-caption').textContent = `${up} up of ${o.nodes.length}`;
  const rows = o.nodes.map((n) => {
    const held = Object.entries(n.held ?? {}).map(([t, why]) =>
      badge(`${t}: ${why.join(', ')}`, 'warn'),
    );
    const load = n.capacity ? Math.min(100, Math.round((100 * n.inFlight) / n.capacity)) : 0;
    return h(
      'tr',
      { dataset: { node: n.nodeId } },
      h('td', {}, h('div', {}, n.nodeId), h('div', { class: 'muted' }, `${n.host} · pid ${n.pid}`)),
      h('td', {}, badge(n.status), ' ', ...held),
      h(
        'td',
        { class: 'wrap' },
        n.types.join(', ') || h('span', { class: 'muted' }, n.roles.join(', ') || '–'),
      ),
      h(
        'td',
        {},
        h(
          'div',
          { class: 'bar', title: `${n.inFlight} of ${n.capacity}` },
          h('span', { style: `width:${load}%` }),
        ),
        h('div', { class: 'muted' }, `${n.inFlight} / ${n.capacity}`),
      ),
      h('td', { class: 'num' }, `${ago(n.silentMs)} ago`),
    );
  });
  fill($('#nodes tbody'), rows.length ? rows : [emptyRow(5, 'No nodes have sent a heartbeat')]);
}

function renderLeaders(o) {
  const rows = o.leaders.map((l) =>
    h(
      'tr',
      { dataset: { role: l.role } },
      h('td', {}, l.role),
      h('td', {}, l.holder, l.expired ? ' ' : '', l.expired ? badge('expired', 'bad') : ''),
      h('td', { class: 'num' }, l.acquiredAt ? `${ago(Date.now() - l.acquiredAt)} ago` : '–'),
    ),
  );
  fill($('#leaders tbody'), rows.length ? rows : [emptyRow(3, 'No leaders elected')]);
  const alerts = o.alerts
    .slice(0, 12)
    .map((a) =>
      h(
        'li',
        { dataset: { alert: a.key, status: a.status } },
        badge(a.status),
        badge(a.severity),
        h('span', {}, a.summary),
        h('span', { class: 'when' }, `${ago(Date.now() - (a.endsAt ?? a.startsAt))} ago`),
      ),
    );
  fill($('#alerts'), alerts.length ? alerts : [h('li', { class: 'empty-note' }, 'No alerts')]);
}

function renderSweeps(o) {
  const items = o.sweeps.slice(0, 20).map((s) => {
    const pct = s.total ? Math.min(100, (100 * s.done) / s.total) : undefined;
    return h(
      'li',
      { dataset: { sweep: s.id, state: s.state } },
      h('div', {}, jobLink(s.id), h('div', { class: 'muted' }, `${s.type} · ${s.workerId ?? ''}`)),
      h('div', {}, badge(s.state)),
      h(
        'div',
        {},
        h(
          'div',
          { class: 'bar' },
          h('span', { style: `width:${pct ?? 100}%;${pct === undefined ? 'opacity:.35' : ''}` }),
        ),
        h('div', { class: 'muted' }, s.message ?? ''),
      ),
      h(
        'div',
        { class: 'meta' },
        `${num(s.done)}${s.total !== undefined ? ` / ${num(s.total)}` : ''}`,
        pct !== undefined ? ` (${pct.toFixed(0)}%)` : '',
        h('br'),
        s.ratePerSec ? `${rate(s.ratePerSec)}/s` : '',
        s.bytesPerSec ? ` · ${bytesRate(s.bytesPerSec)}` : '',
        s.etaMs !== undefined ? ` · ETA ${ago(s.etaMs)}` : '',
      ),
    );
  });
  fill(
    $('#sweeps'),
    items.length ? items : [h('li', { class: 'empty-note' }, 'No sweeps running')],
  );
}

function jobLink(id) {
  return h(
    'a',
    {
      class: 'job',
      href: `#job=${encodeURIComponent(id)}`,
      onclick: (e) => {
        e.preventDefault();
        void openJob(id);
      },
    },
    id,
  );
}

function renderEvents() {
  const items = state.events.map((e) =>
    h(
      'li',
      { dataset: { id: e.id, state: e.state } },
      h('span', { class: 'time' }, clock(e.at)),
      h('span', {}, badge(e.state)),
      h('span', {}, jobLink(e.id)),
      h('span', { class: 'muted' }, `${e.type} · ${e.priority}`),
      h(
        'span',
        { class: 'detail', title: e.error ?? e.reason ?? '' },
        e.error ??
          e.reason ??
          (e.durationMs !== undefined ? `${e.durationMs} ms` : (e.workerId ?? '')),
      ),
    ),
  );
  fill($('#events'), items.length ? items : [h('li', { class: 'empty-note' }, 'No events yet')]);
}

// --- dead letter queue -------------------------------------------------------

let dlqRequest = 0;
async function loadDlq() {
  // Answers can arrive out of order: only the latest request may render.
  const mine = ++dlqRequest;
  let page;
  try {
    page = await api('/dlq?limit=200');
  } catch (err) {
    if (err instanceof UnauthorizedError) showTokenForm();
    return;
  }
  if (mine !== dlqRequest) return;
  const total = page.nextCursor
    ? Math.max(state.dlqCount, page.deadLetters.length)
    : page.deadLetters.length;
  $('#dlq-caption').textContent = `${num(total)} dead letter${total === 1 ? '' : 's'}`;
  $('#dlq-retry-all').disabled = $('#dlq-purge-all').disabled = page.deadLetters.length === 0;
  const rows = page.deadLetters.map((d) =>
    h(
      'tr',
      { dataset: { job: d.id } },
      h('td', {}, jobLink(d.id)),
      h('td', {}, d.type),
      h(
        'td',
        { class: 'wrap' },
        d.reason,
        d.lastError && d.lastError !== d.reason ? h('div', { class: 'muted' }, d.lastError) : '',
      ),
      h('td', { class: 'num' }, num(d.attempts)),
      h('td', { class: 'num' }, `${ago(Date.now() - d.at)} ago`),
      h(
        'td',
        { class: 'num' },
        h(
          'button',
          { type: 'button', dataset: { action: 'retry' }, onclick: () => retryDead(d.id) },
          'Retry',
        ),
      ),
    ),
  );
  fill($('#dlq tbody'), rows.length ? rows : [emptyRow(6, 'The dead letter queue is empty')]);
}

async function retryDead(id) {
  await act(`job ${id} sent back to the queue`, () =>
    api('/dlq/retry', { method: 'POST', body: { id } }),
  );
  await loadDlq();
}

$('#dlq-retry-all').addEventListener('click', async () => {
  const r = await act('dead letters sent back', () =>
    api('/dlq/retry', { method: 'POST', body: { all: true } }),
  );
  if (r) toast(`${r.retried.length} job(s) sent back to the queue`);
  await loadDlq();
});

$('#dlq-purge-all').addEventListener('click', async () => {
  if (!confirm('Delete every dead letter? This cannot be undone.')) return;
  const r = await act('dead letters purged', () =>
    api('/dlq/purge', { method: 'POST', body: { all: true } }),
  );
  if (r) toast(`${r.purged} dead letter(s) deleted`);
  await loadDlq();
});

// --- schedules -----------------------------------------------------------------

/** How often the schedules are read again while the page is live, ms. */
const SCHEDULES_EVERY_MS = 5000;
const schedules = { request: 0, loadedAt: 0, open: undefined };

/** An interval as `rfw` writes it: `500ms`, `30s`, `1h30m`, `1d`. */
function every(ms) {
  const units = [
    [86_400_000, 'd'],
    [3_600_000, 'h'],
    [60_000, 'm'],
    [1000, 's'],
    [1, 'ms'],
  ];
  const parts = units
    .map(([size, unit], i) => [Math.floor((i ? ms % units[i - 1][0] : ms) / size), unit])
    .filter(([n]) => n > 0);
  return parts.length ? parts.map(([n, unit]) => `${n}${unit}`).join('') : '0ms';
}

/** A fire time: local date and time, and how far off it is. */
function fireTime(at) {
  const off = at - Date.now();
  return `${dateTime(at)} (${off >= 0 ? `in ${ago(off)}` : `${ago(-off)} ago`})`;
}

async function loadSchedules() {
  // As for the DLQ: only the latest answer may render.
  const mine = ++schedules.request;
  schedules.loadedAt = Date.now();
  let list;
  try {
    list = (await api('/schedules')).schedules;
  } catch (err) {
    if (err instanceof UnauthorizedError) showTokenForm();
    return;
  }
  if (mine !== schedules.request) return;
  const paused = list.filter((s) => s.paused).length;
  $('#schedules-caption').textContent =
    `${num(list.length)} schedule${list.length === 1 ? '' : 's'}` +
    (paused ? `, ${num(paused)} paused` : '');
  const rows = [];
  for (const s of list) {
    const d = s.schedule;
    const action = s.paused ? 'resume' : 'pause';
    rows.push(
      h(
        'tr',
        { dataset: { schedule: d.name, paused: String(s.paused) } },
        h(
          'td',
          { dataset: { col: 'name' } },
          h(
            'a',
            {
              class: 'schedule',
              href: `#schedule=${encodeURIComponent(d.name)}`,
              title: 'the next five fire times',
              onclick: (e) => {
                e.preventDefault();
                void toggleFireTimes(d.name);
              },
            },
            d.name,
          ),
        ),
        h('td', { dataset: { col: 'type' } }, d.type, d.priority ? ` · ${d.priority}` : ''),
        h(
          'td',
          { dataset: { col: 'when' } },
          d.cron !== undefined ? h('code', {}, d.cron) : `every ${every(d.everyMs)}`,
        ),
        h(
          'td',
          { dataset: { col: 'timezone' } },
          d.timezone ?? (d.cron !== undefined ? h('span', { class: 'muted' }, "scheduler's") : '–'),
        ),
        h(
          'td',
          { dataset: { col: 'state' } },
          badge(s.paused ? 'paused' : 'active', s.paused ? 'paused' : 'ok'),
        ),
        h(
          'td',
          { dataset: { col: 'next' } },
          s.paused ? '–' : s.nextFireAt === null ? 'none' : fireTime(s.nextFireAt),
        ),
        h(
          'td',
          { class: 'num' },
          h(
            'button',
            {
              type: 'button',
              dataset: { action },
              onclick: () => changeSchedule(d.name, action),
            },
            s.paused ? 'Resume' : 'Pause',
          ),
          ' ',
          h(
            'button',
            {
              type: 'button',
              class: 'danger',
              dataset: { action: 'remove' },
              onclick: () => changeSchedule(d.name, 'remove'),
            },
            'Remove',
          ),
        ),
      ),
    );
    if (schedules.open === d.name) rows.push(fireTimesRow(d.name));
  }
  fill($('#schedules tbody'), rows.length ? rows : [emptyRow(7, 'No stored schedules')]);
  if (schedules.open && list.some((s) => s.schedule.name === schedules.open))
    void loadFireTimes(schedules.open);
}

function fireTimesRow(name) {
  return h(
    'tr',
    { class: 'fire-times', dataset: { fireTimesOf: name } },
    h('td', { colspan: 7 }, h('ol', { class: 'fire-times' }, h('li', { class: 'muted' }, '…'))),
  );
}

/** Show (or hide) the next five fire times of a schedule under its row. */
async function toggleFireTimes(name) {
  schedules.open = schedules.open === name ? undefined : name;
  await loadSchedules();
}

async function loadFireTimes(name) {
  const s = await api(`/schedules/${encodeURIComponent(name)}`).catch((err) => {
    toast(err.message, true);
  });
  const list = document.querySelector(`#schedules tr[data-fire-times-of="${CSS.escape(name)}"] ol`);
  if (!s || !list) return;
  const times = s.nextFireTimes ?? [];
  fill(
    list,
    times.length
      ? times.map((t) => h('li', {}, fireTime(t)))
      : [h('li', { class: 'muted' }, s.paused ? 'none while paused' : 'no more fire times')],
  );
}

const DONE = { pause: 'paused', resume: 'resumed', remove: 'removed' };

/** Pause, resume or remove (once confirmed) a schedule, then read them again. */
async function changeSchedule(name, action) {
  if (action === 'remove' && !confirm(`Remove the schedule ${name}? The jobs it fired are kept.`))
    return;
  const path = `/schedules/${encodeURIComponent(name)}`;
  await act(`schedule ${name} ${DONE[action]}`, () =>
    action === 'remove'
      ? api(path, { method: 'DELETE' })
      : api(`${path}/${action}`, { method: 'POST' }),
  );
  if (action === 'remove' && schedules.open === name) schedules.open = undefined;
  await loadSchedules();
}

// --- job detail --------------------------------------------------------------

/** Counts the job view's loads: only the latest one renders (answers may arrive out of order). */
let jobLoads = 0;
/** The job the view shows. */
let shownJob;
let flowTimer;

async function openJob(id) {
  // The job wanted from now on: a refresh of the one shown before, still on
  // its way, must not replace it.
  state.openJob = id;
  const load = ++jobLoads;
  let job;
  let children;
  try {
    job = await api(`/jobs/${encodeURIComponent(id)}`);
    if (job.flow) children = await loadChildren(job);
  } catch (err) {
    if (load === jobLoads) {
      toast(err.message, true);
      // Back to the job shown, if any.
      if (state.openJob === id) state.openJob = $('#job-dialog').open ? shownJob : undefined;
    }
    return;
  }
  if (load !== jobLoads || state.openJob !== id) return;
  shownJob = id;
  $('#job-title').textContent = `Job ${job.id}`;
  const field = (k, v) => [h('dt', {}, k), h('dd', { dataset: { field: k } }, v)];
  fill($('#job-fields'), [
    ...field('state', badge(job.state)),
    ...field('type', `${job.type} · ${job.priority}`),
    ...field('attempts', `${job.attempts} of ${job.maxRetries + 1}`),
    ...field('created', dateTime(job.createdAt)),
    ...field('run at', dateTime(job.runAt)),
    ...field('updated', dateTime(job.updatedAt)),
    ...(job.workerId ? field('worker', job.workerId) : []),
    ...(job.lastError ? field('last error', job.lastError) : []),
    ...(job.deadReason ? field('dead reason', job.deadReason) : []),
    ...(job.parent
      ? field('parent', [jobLink(job.parent.id), ` · on failure: ${job.parent.onFailure}`])
      : []),
    ...(job.result !== undefined ? field('result', JSON.stringify(job.result)) : []),
  ]);
  renderFlow(job, children);
  fill(
    $('#job-history'),
    job.history.map((t) =>
      h(
        'li',
        {},
        h('span', { class: 'muted' }, dateTime(t.at)),
        h('span', {}, badge(t.state)),
        h(
          'span',
          {},
          [t.attempt ? `attempt ${t.attempt}` : '', t.workerId ?? '', t.error ?? '']
            .filter(Boolean)
            .join(' · '),
        ),
      ),
    ),
  );
  $('#job-payload').textContent = JSON.stringify(job.payload, null, 2);
  $('#job-retry').disabled = !['dead', 'cancelled'].includes(job.state);
  $('#job-cancel').disabled = ['succeeded', 'dead', 'cancelled'].includes(job.state);
  if (!$('#job-dialog').open) $('#job-dialog').showModal();
}

/** Failed children listed in the job view; the rest are counted. */
const SHOWN_FAILED_CHILDREN = 20;

/** A flow parent's failed children (first page) and summary. */
async function loadChildren(job) {
  try {
    return await api(
      `/jobs/${encodeURIComponent(job.id)}/children?state=failed&limit=${SHOWN_FAILED_CHILDREN}`,
    );
  } catch (err) {
    toast(err.message, true);
    return { flow: job.flow, endings: [], total: 0 };
  }
}

/** A flow parent's summary, progress and failed children (hidden for any other job). */
function renderFlow(job, page) {
  const section = $('#job-flow');
  clearTimeout(flowTimer);
  if (!job.flow) {
    section.hidden = true;
    return;
  }
  // Children's events refresh the view; read it again now and then besides.
  if (!['succeeded', 'dead', 'cancelled'].includes(job.state))
    flowTimer = setTimeout(() => state.openJob === job.id && void openJob(job.id), 3000);
  const f = page.flow;
  const ended = (f.succeeded ?? 0) + (f.dead ?? 0) + (f.cancelled ?? 0);
  const pending = f.pending ?? Math.max(0, f.children - ended);
  const pct = f.children > 0 ? Math.floor((ended / f.children) * 100) : 100;
  const bar = $('#flow-bar');
  bar.setAttribute('aria-valuenow', String(pct));
  bar.title = `${ended} of ${f.children} children ended`;
  bar.firstElementChild.style.width = `${pct}%`;
  $('#flow-percent').textContent = `${pct}% · ${ended}/${f.children} ended`;
  const field = (k, v) => [h('dt', {}, k), h('dd', { dataset: { flow: k } }, v)];
  fill($('#flow-fields'), [
    ...field('children', num(f.children)),
    ...field('succeeded', num(f.succeeded ?? 0)),
    ...field('dead', num(f.dead ?? 0)),
    ...field('cancelled', num(f.cancelled ?? 0)),
    ...field('pending', num(pending)),
  ]);
  $('#flow-failed-title').hidden = page.total === 0;
  $('#flow-failed-title').textContent = `Failed children (${page.total})`;
  fill($('#flow-failed'), [
    ...page.endings.map((e) =>
      h(
        'li',
        { dataset: { child: e.id } },
        jobLink(e.id),
        badge(e.state),
        h('span', { class: 'muted' }, e.error ?? ''),
      ),
    ),
    ...(page.total > page.endings.length
      ? [h('li', { class: 'muted' }, `and ${page.total - page.endings.length} more`)]
      : []),
  ]);
  section.hidden = false;
}

$('#job-close').addEventListener('click', () => $('#job-dialog').close());
$('#job-dialog').addEventListener('close', () => {
  state.openJob = undefined;
  clearTimeout(flowTimer);
});
$('#job-retry').addEventListener('click', async () => {
  const id = state.openJob;
  await act(`job ${id} retried`, () =>
    api(`/jobs/${encodeURIComponent(id)}/retry`, { method: 'POST' }),
  );
  await openJob(id);
});
$('#job-cancel').addEventListener('click', async () => {
  const id = state.openJob;
  await act(`job ${id} cancelled`, () =>
    api(`/jobs/${encodeURIComponent(id)}/cancel`, { method: 'POST' }),
  );
  await openJob(id);
});
$('#find-job').addEventListener('submit', (e) => {
  e.preventDefault();
  const id = $('#find-job-id').value.trim();
  if (id) void openJob(id);
});

// --- token -------------------------------------------------------------------

function showTokenForm() {
  $('#token-form').hidden = false;
  $('#token-input').focus();
}
$('#token-button').addEventListener('click', () => {
  $('#token-form').hidden = !$('#token-form').hidden;
  $('#token-input').value = getToken();
});
$('#token-form').addEventListener('submit', (e) => {
  e.preventDefault();
  setToken($('#token-input').value.trim());
  $('#token-form').hidden = true;
  restart();
});

// --- live updates ------------------------------------------------------------

/** Render a section only when its data changed since the last overview. */
const lastRendered = new Map();
function section(name, data, render) {
  const json = JSON.stringify(data);
  if (lastRendered.get(name) === json) return;
  lastRendered.set(name, json);
  render();
}

function onOverview(o) {
  state.overview = o;
  section('header', [o.installation, o.monitor], () => renderHeader(o));
  section('cards', [o.metrics, o.queues], () => renderCards(o));
  section('timeline', o.timeline, () => renderTimeline(o));
  section('queues', o.queues, () => renderQueues(o));
  // Ages are shown to the second: nodes and leaders redraw at most once a second.
  section(
    'nodes',
    [o.nodes.map((n) => ({ ...n, at: 0, silentMs: Math.round(n.silentMs / 1000) }))],
    () => renderNodes(o),
  );
  section(
    'leaders',
    [
      o.leaders.map((l) => ({ ...l, renewedAt: 0, expiresAt: 0, revision: 0 })),
      o.alerts,
      Math.floor(o.at / 1000),
    ],
    () => renderLeaders(o),
  );
  section('sweeps', o.sweeps, () => renderSweeps(o));
  if (state.events.length === 0 && o.recent.length) {
    state.events = o.recent
      .slice(-MAX_EVENTS)
      .reverse()
      .sort((a, b) => b.at - a.at);
    renderEvents();
  }
  if (Date.now() - schedules.loadedAt >= SCHEDULES_EVERY_MS) void loadSchedules();
  const dlq = o.metrics?.dlq ?? 0;
  if (dlq !== state.dlqCount) {
    state.dlqCount = dlq;
    void loadDlq();
  }
}

function onJobs({ events, dropped }) {
  // Newest first by the time each event happened: a producer's `pending` can
  // reach the stream after the worker's `running` for the same job.
  state.events = [...events.slice().reverse(), ...state.events]
    .sort((a, b) => b.at - a.at)
    .slice(0, MAX_EVENTS);
  renderEvents();
  if (dropped) toast(`${dropped} events skipped (too many to show)`);
  // A flow parent's view follows its children too (their ids are <parent>-<index>).
  const open = state.openJob;
  if (open && events.some((e) => e.id === open || e.id.startsWith(`${open}-`))) void openJob(open);
}

let stop;
function restart() {
  stop?.();
  state.dlqCount = -1;
  schedules.loadedAt = 0;
  lastRendered.clear();
  stop = followEvents(
    (name, data) =>
      name === 'overview' ? onOverview(data) : name === 'jobs' ? onJobs(data) : undefined,
    (s) => {
      const live = $('#live');
      live.dataset.state = s;
      live.textContent = s;
      if (s === 'unauthorized') showTokenForm();
    },
  );
}

adoptTokenFromHash();
window.addEventListener('resize', () => state.overview && renderTimeline(state.overview));
// Re-render everything after a token change or reconnect.
window.addEventListener('focus', () => lastRendered.clear());
restart();
