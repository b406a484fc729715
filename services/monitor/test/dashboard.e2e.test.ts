import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type Page } from 'playwright-core';
import { LeaderElection } from '@rfw/cluster';
import { ensureChromium } from '@rfw/testkit';
import { NonRetryableError, defineWorker } from '@rfw/worker';
import { startAdminApi, type AdminApi } from '../src/index.js';
import { apiClient, useHarness, type RunningMonitor } from './helpers.js';

const TOKEN = 'dashboard-token-0123456789';
/** `UPDATE_SCREENSHOT=1` refreshes the README's picture; otherwise it goes to a temp dir. */
const SCREENSHOT = process.env.UPDATE_SCREENSHOT
  ? fileURLToPath(new URL('../../../docs/images/dashboard.png', import.meta.url))
  : join(tmpdir(), `rfw-dashboard-${process.pid}.png`);

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const done = (): void => {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const t = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });

/** The little of the DOM these page functions touch (the test compiles without DOM types). */
interface PageDocument {
  querySelector(selector: string): { textContent: string | null } | null;
  querySelectorAll(selector: string): ArrayLike<{ textContent: string | null }>;
}

/** Wait until the text of `selector` satisfies `test` (polled in the page). */
async function waitForText(page: Page, selector: string, test: string | RegExp, timeout = 30_000) {
  const source =
    typeof test === 'string' ? `^${test.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$` : test.source;
  await page.waitForFunction(
    ([sel, src]) => {
      // Runs in the page, where `document` exists.
      const doc = (globalThis as unknown as { document: PageDocument }).document;
      const el = doc.querySelector(sel as string);
      return !!el && new RegExp(src as string).test((el.textContent ?? '').trim());
    },
    [selector, source],
    { timeout, polling: 100 },
  );
}

describe('integration: dashboard (browser)', () => {
  const h = useHarness();
  let browser: Browser;

  beforeAll(async () => {
    browser = await chromium.launch({
      // Installs Debian's chromium when missing and root, else fails with one line saying how.
      executablePath: ensureChromium(),
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-quic',
        '--no-first-run',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  }, 900_000);
  afterAll(async () => {
    await browser?.close();
  });

  /** The admin API (and dashboard) of `m`, behind TOKEN; closed after the test. */
  async function serve(m: RunningMonitor): Promise<AdminApi> {
    const api = await startAdminApi({
      monitor: m.monitor,
      port: 0,
      token: TOKEN,
      events: { batchMs: 200 },
    });
    h.defer(() => api.close());
    return api;
  }

  /** A page on the dashboard at `url` with TOKEN stored; `errors` gets its uncaught errors. */
  async function openDashboard(url: string, height: number) {
    const page = await browser.newPage({ viewport: { width: 1440, height } });
    h.defer(() => page.close());
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.addInitScript((t) => {
      const storage = (
        globalThis as unknown as { localStorage: { setItem(k: string, v: string): void } }
      ).localStorage;
      storage.setItem('rfw-admin-token', t);
    }, TOKEN);
    await page.goto(url);
    return { page, errors };
  }

  it(
    'shows jobs appear and finish live, and retries a dead job from the DLQ view',
    { timeout: 150_000 },
    async () => {
      const m = await h.monitor({
        elect: true,
        nodeId: 'monitor-1',
        leaseMs: 3000,
        rateWindowMs: 60_000,
        refreshIntervalMs: 500,
      });
      const scheduler = await LeaderElection.create({
        connection: m.nc,
        prefix: h.prefix,
        role: 'scheduler',
        nodeId: 'scheduler-1',
        leaseMs: 3000,
      });
      await scheduler.start();
      h.defer(() => scheduler.stop());
      const api = await serve(m);

      let indexerFixed = false;
      const stopSweeps = new AbortController();
      await h.manager(
        [
          defineWorker('replication', async (p: { ms: number }) => {
            await sleep(p.ms);
            return { copies: 2 };
          }),
          defineWorker('cleanup', async () => ({ removed: 3 })),
        ],
        { workerId: 'worker-a', maxConcurrentJobs: 4 },
      );
      await h.manager(
        [
          defineWorker('healing', async (p: { objects: number }, ctx) => {
            for (let done = 0; done <= p.objects; done += 10) {
              ctx.progress({
                done,
                total: p.objects,
                message: `bucket photos: ${done} objects checked`,
              });
              await sleep(250, stopSweeps.signal);
              if (stopSweeps.signal.aborted) break;
            }
            return { repaired: 1 };
          }),
          defineWorker('indexing', async (p: { prefix: string }) => {
            if (!indexerFixed && p.prefix === 'broken/')
              throw new NonRetryableError(`cannot parse the metadata under ${p.prefix}`);
            return { indexed: 10 };
          }),
        ],
        { workerId: 'worker-b', maxConcurrentJobs: 4 },
      );
      // Registered after the managers, so it runs before their shutdown.
      h.defer(async () => stopSweeps.abort());

      const { page, errors } = await openDashboard(api.url, 1400);
      await waitForText(page, '#live', 'live');
      await waitForText(page, '#leaders tr[data-role="monitor"] td:nth-child(2)', 'monitor-1');

      // Jobs appear on the page as they are scheduled, then finish.
      const q = await h.queue();
      for (let i = 0; i < 12; i++)
        await q.schedule(
          'replication',
          { ms: 100 },
          { priority: (['critical', 'high', 'normal'] as const)[i % 3] },
        );
      for (let i = 0; i < 4; i++) await q.schedule('cleanup', { i }, { priority: 'low' });
      for (let i = 0; i < 2; i++) await q.schedule('cleanup', { i }, { delay: 3_600_000 });
      for (const prefix of ['photos/', 'logs/', 'broken/'])
        await q.schedule('indexing', { prefix });
      const brokenId = await q.schedule(
        'indexing',
        { prefix: 'broken/' },
        { id: 'index-broken-2' },
      );
      await waitForText(
        page,
        '#queues tr[data-type="replication"][data-priority="critical"] td:first-child',
        'replication',
      );
      await waitForText(
        page,
        '#queues tr[data-type="replication"][data-priority="critical"] [data-col="succeeded"]',
        '4',
      );
      await waitForText(
        page,
        '#queues tr[data-type="cleanup"][data-priority="low"] [data-col="succeeded"]',
        '4',
      );
      await waitForText(
        page,
        '#queues tr[data-type="cleanup"][data-priority="normal"] [data-col="delayed"]',
        '2',
      );
      await waitForText(page, '#cards [data-card="completed"] .value', '18');
      await waitForText(page, '#nodes tr[data-node="worker-b"] .badge', 'up');

      // A sweep reports progress.
      await q.schedule(
        'healing',
        { objects: 2000 },
        { priority: 'high', id: 'heal-bucket-photos' },
      );
      await q.schedule('healing', { objects: 1200 }, { id: 'heal-node-3' });
      await waitForText(page, '#sweeps li[data-sweep="heal-bucket-photos"] .meta', /\/ 2,000/);

      // Dead jobs land in the DLQ view.
      await waitForText(page, '#dlq-caption', '2 dead letters');
      await page.locator(`#dlq tr[data-job="${brokenId}"]`).waitFor();
      mkdirSync(dirname(SCREENSHOT), { recursive: true });
      await page.screenshot({ path: SCREENSHOT, fullPage: true, timeout: 60_000 });

      // Retry one from the DLQ view: it leaves the DLQ and succeeds.
      indexerFixed = true;
      await page.locator(`#dlq tr[data-job="${brokenId}"] button[data-action="retry"]`).click();
      await page.locator(`#dlq tr[data-job="${brokenId}"]`).waitFor({ state: 'detached' });
      await waitForText(page, '#dlq-caption', '1 dead letter');
      await waitForText(
        page,
        `#events li[data-id="${brokenId}"][data-state="succeeded"] .badge`,
        'succeeded',
      );
      expect((await q.get(brokenId))?.state).toBe('succeeded');

      // Its detail shows the whole history.
      await page.locator(`#events li[data-id="${brokenId}"][data-state="succeeded"] a.job`).click();
      await waitForText(page, '#job-fields [data-field="state"]', 'succeeded');
      const history = await page.locator('#job-history li .badge').allTextContents();
      expect(history).toEqual(['pending', 'dead', 'pending', 'succeeded']);
      expect(await page.locator('#job-payload').textContent()).toContain('broken/');
      expect(errors).toEqual([]);
    },
  );

  it(
    "shows each queue's latency: the oldest waiting job's age and run-time percentiles",
    { timeout: 90_000 },
    async () => {
      const m = await h.monitor({ nodeId: 'monitor-lat', refreshIntervalMs: 300 });
      const api = await serve(m);
      await h.manager([
        defineWorker('quick', async () => {
          await sleep(150);
        }),
      ]);
      const { page, errors } = await openDashboard(api.url, 1000);
      await waitForText(page, '#live', 'live');

      const q = await h.queue();
      // No worker runs `stuck`: its job waits, and the page shows for how long.
      await q.schedule('stuck', {}, { priority: 'high' });
      for (let i = 0; i < 3; i++) await q.schedule('quick', { i });
      const stuck = '#queues tr[data-type="stuck"][data-priority="high"]';
      await waitForText(page, `${stuck} [data-col="oldest-wait"]`, /^(\d+ ms|\d+\.\d s)$/);
      await waitForText(page, `${stuck} [data-col="oldest-wait"]`, /^[1-9]\d*\.\d s$/);
      expect(await page.locator(`${stuck} [data-col="run-p50"]`).textContent()).toBe('–');
      // Each `quick` job ran 150 ms: both percentiles say so.
      const quick = '#queues tr[data-type="quick"][data-priority="normal"]';
      const atLeast140ms = /^(1[4-9]\d|[2-9]\d\d) ms$|^\d+\.\d s$/;
      await waitForText(page, `${quick} [data-col="run-p50"]`, atLeast140ms);
      await waitForText(page, `${quick} [data-col="run-p99"]`, atLeast140ms);
      await waitForText(page, `${quick} [data-col="oldest-wait"]`, '–');

      // Once a worker takes it, nothing waits.
      await h.manager([defineWorker('stuck', async () => 'done')]);
      await waitForText(page, `${stuck} [data-col="oldest-wait"]`, '–');
      await waitForText(page, `${stuck} [data-col="run-p50"]`, /^\d+ ms$/);
      expect(errors).toEqual([]);
    },
  );

  it(
    'lists stored schedules with their next fire times, and pauses and removes one',
    { timeout: 90_000 },
    async () => {
      const m = await h.monitor({ nodeId: 'monitor-sched', refreshIntervalMs: 300 });
      const api = await serve(m);
      const call = async (path: string, method = 'GET', body?: unknown) => {
        const res = await fetch(`${api.url}/api${path}`, {
          method,
          headers: {
            authorization: `Bearer ${TOKEN}`,
            ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          },
          body: body === undefined ? undefined : JSON.stringify(body),
        });
        const text = await res.text();
        return {
          status: res.status,
          body: (text ? JSON.parse(text) : {}) as Record<string, unknown>,
        };
      };
      const { page, errors } = await openDashboard(api.url, 1400);
      await waitForText(page, '#live', 'live');
      await waitForText(page, '#schedules-caption', '0 schedules');

      // Added through the API while the page is open: the page lists them.
      const nightly = await call('/schedules', 'POST', {
        name: 'nightly-report',
        cron: '30 2 * * *',
        timezone: 'Europe/Berlin',
        type: 'report',
        priority: 'high',
      });
      expect(nightly.status).toBe(201);
      const heartbeat = await call('/schedules', 'POST', {
        name: 'heartbeat',
        everyMs: 90_000,
        type: 'ping',
      });
      expect(heartbeat.status).toBe(201);
      const row = (name: string) => `#schedules tr[data-schedule="${name}"]`;
      await waitForText(page, '#schedules-caption', '2 schedules');
      await waitForText(page, `${row('nightly-report')} [data-col="when"]`, '30 2 * * *');
      await waitForText(page, `${row('nightly-report')} [data-col="timezone"]`, 'Europe/Berlin');
      await waitForText(page, `${row('nightly-report')} [data-col="type"]`, 'report · high');
      await waitForText(page, `${row('nightly-report')} [data-col="state"]`, 'active');
      await waitForText(page, `${row('nightly-report')} [data-col="next"]`, /\(in (\d+h )?\d+m/);
      await waitForText(page, `${row('heartbeat')} [data-col="when"]`, 'every 1m30s');
      await waitForText(page, `${row('heartbeat')} [data-col="timezone"]`, '–');
      expect(
        await page.locator('#schedules tr[data-schedule] [data-col="name"]').allTextContents(),
      ).toEqual(['heartbeat', 'nightly-report']);

      // Its name opens the next five fire times, a day apart.
      await page.locator(`${row('nightly-report')} a.schedule`).click();
      const fireTimes = page.locator('#schedules tr[data-fire-times-of="nightly-report"] li');
      await page.waitForFunction(
        (sel) => {
          const doc = (globalThis as unknown as { document: PageDocument }).document;
          const items = Array.from(doc.querySelectorAll(sel as string));
          return items.length === 5 && items.every((li) => /\(in /.test(li.textContent ?? ''));
        },
        '#schedules tr[data-fire-times-of="nightly-report"] li',
        { timeout: 30_000, polling: 100 },
      );
      expect(await fireTimes.count()).toBe(5);

      // Paused from the page: the API says so.
      await page.locator(`${row('nightly-report')} button[data-action="pause"]`).click();
      await waitForText(page, `${row('nightly-report')} [data-col="state"]`, 'paused');
      await waitForText(page, `${row('nightly-report')} [data-col="next"]`, '–');
      await waitForText(page, `${row('nightly-report')} button[data-action="resume"]`, 'Resume');
      await waitForText(page, '#schedules-caption', '2 schedules, 1 paused');
      const paused = await call('/schedules/nightly-report');
      expect(paused).toMatchObject({
        status: 200,
        body: { paused: true, by: 'monitor:monitor-sched', nextFireTimes: [] },
      });
      expect((await m.monitor.queue.schedules.get('heartbeat'))?.paused).toBe(false);

      // Removed from the page, once confirmed.
      page.once('dialog', (d) => void d.accept());
      await page.locator(`${row('heartbeat')} button[data-action="remove"]`).click();
      await page.locator(row('heartbeat')).waitFor({ state: 'detached' });
      await waitForText(page, '#schedules-caption', '1 schedule, 1 paused');
      expect((await call('/schedules/heartbeat')).status).toBe(404);
      expect(errors).toEqual([]);
    },
  );

  it(
    "shows a flow parent's progress until all its children succeeded, and links a child to it",
    { timeout: 90_000 },
    async () => {
      const m = await h.monitor({ nodeId: 'monitor-flow', refreshIntervalMs: 300 });
      const api = await serve(m);
      const call = apiClient(api.url, TOKEN);
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      await h.manager([
        defineWorker('flow-leaf', async (p: { n: number }) => {
          if (p.n < 0) throw new NonRetryableError(`negative ${p.n}`);
          await gate;
          return p.n;
        }),
        defineWorker('flow-root', async () => 'all done'),
      ]);
      const { page, errors } = await openDashboard(api.url, 1000);
      await waitForText(page, '#live', 'live');
      const open = async (id: string): Promise<void> => {
        // The job view is modal: close it to reach the search box.
        if (await page.locator('#job-dialog').isVisible()) await page.locator('#job-close').click();
        await page.locator('#find-job-id').fill(id);
        await page.locator('#find-job-id').press('Enter');
        await waitForText(page, '#job-title', `Job ${id}`);
      };

      const made = await call('/api/flows', {
        method: 'POST',
        body: {
          type: 'flow-root',
          options: { id: 'dash-flow' },
          children: [1, 2, 3, 4, 5].map((n) => ({ type: 'flow-leaf', payload: { n } })),
        },
      });
      expect(made).toMatchObject({ status: 201, body: { id: 'dash-flow', children: 5 } });
      await open('dash-flow');
      await waitForText(page, '#job-fields [data-field="state"]', 'waiting');
      await waitForText(page, '#flow-fields [data-flow="children"]', '5');
      await waitForText(page, '#flow-fields [data-flow="pending"]', '5');
      await waitForText(page, '#flow-percent', '0% · 0/5 ended');
      expect(await page.locator('#flow-failed-title').isHidden()).toBe(true);

      // The children run: the open view follows them to the end.
      release();
      await waitForText(page, '#flow-fields [data-flow="succeeded"]', '5');
      await waitForText(page, '#flow-fields [data-flow="pending"]', '0');
      await waitForText(page, '#flow-percent', '100% · 5/5 ended');
      await waitForText(page, '#job-fields [data-field="state"]', 'succeeded');
      expect(await page.locator('#flow-bar').getAttribute('aria-valuenow')).toBe('100');
      expect(await page.locator('#flow-fields [data-flow="dead"]').textContent()).toBe('0');

      // A child names its parent, and the link opens it.
      await open('dash-flow-3');
      await waitForText(
        page,
        '#job-fields [data-field="parent"]',
        /^dash-flow · on failure: fail$/,
      );
      expect(await page.locator('#job-flow').isHidden()).toBe(true);
      await page.locator('#job-fields [data-field="parent"] a.job').click();
      await waitForText(page, '#job-title', 'Job dash-flow');
      await waitForText(page, '#flow-fields [data-flow="succeeded"]', '5');

      // A flow with a failed child lists it with its error.
      await call('/api/flows', {
        method: 'POST',
        body: {
          type: 'flow-root',
          options: { id: 'dash-flow-b' },
          children: [
            { type: 'flow-leaf', payload: { n: 1 } },
            { type: 'flow-leaf', payload: { n: -1 }, onFailure: 'ignore' },
          ],
        },
      });
      await open('dash-flow-b');
      await waitForText(page, '#job-fields [data-field="state"]', 'succeeded');
      await waitForText(page, '#flow-failed-title', 'Failed children (1)');
      await waitForText(page, '#flow-failed li[data-child="dash-flow-b-1"]', /negative -1$/);
      expect(errors).toEqual([]);
    },
  );
});
