/// <reference lib="dom" />
// page.evaluate() callbacks run in the browser: they use DOM types.
import { existsSync, mkdtempSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SECRET, startTestCluster, type TestCluster } from './cluster.test-helpers.js';
import { type RunningDashboard, runDashboardCommand } from './command.js';

/**
 * The dashboard in a real headless Chromium (Debian's `chromium`, driven by puppeteer-core),
 * against a running cluster of three plugins. The browser is found through CHROMIUM_PATH
 * (default /usr/bin/chromium). In CI (CI=true) a missing browser fails the run; on a developer
 * machine without it the file is skipped with a message saying how to install it.
 */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const AVAILABLE = existsSync(CHROMIUM);
const IN_CI = process.env.CI === 'true' || process.env.CI === '1';
/**
 * Where the screenshots go: the README's images in `docs/` with `UPDATE_SCREENSHOTS=1`, a
 * temporary folder otherwise (a test run must not rewrite tracked files).
 */
const DOCS =
  process.env.UPDATE_SCREENSHOTS === '1'
    ? new URL('../docs/', import.meta.url)
    : pathToFileURL(`${mkdtempSync(join(tmpdir(), 'dashboard-shots-'))}/`);

if (!AVAILABLE && !IN_CI) {
  console.warn(
    `browser.test.ts skipped: no Chromium at ${CHROMIUM}. Install it (apt-get install -y chromium) or set CHROMIUM_PATH; in CI (CI=true) this is a failure.`,
  );
}

// In CI a missing browser is a failed test, not a skipped one.
it.runIf(AVAILABLE || IN_CI)('finds Chromium at CHROMIUM_PATH (default /usr/bin/chromium)', () => {
  expect(AVAILABLE, `No Chromium at ${CHROMIUM}: apt-get install -y chromium, or set CHROMIUM_PATH`).toBe(
    true,
  );
});

describe.skipIf(!AVAILABLE && !IN_CI)('dashboard in headless Chromium', () => {
  let cluster: TestCluster;
  let browser: Browser;
  let readOnly: RunningDashboard;
  let writable: RunningDashboard;
  let bucket: RunningDashboard;
  /** Every answer the browser received from the dashboards: none may hold the secret. */
  const answers: string[] = [];

  beforeAll(async () => {
    expect(AVAILABLE, `No Chromium at ${CHROMIUM}: apt-get install -y chromium, or set CHROMIUM_PATH`).toBe(
      true,
    );
    cluster = await startTestCluster();
    readOnly = await runDashboardCommand({
      source: cluster.source,
      port: 0,
      basePath: '/scheduler',
      refreshInterval: 1000,
    });
    writable = await runDashboardCommand({
      plugin: cluster.plugin,
      port: 0,
      readOnly: false,
      refreshInterval: 1000,
    });
    bucket = await runDashboardCommand({
      store: cluster.store,
      keyPrefix: 'plugin=scheduler/',
      clock: cluster.clock,
      port: 0,
      refreshInterval: 1000,
    });
    browser = await puppeteer.launch({
      executablePath: CHROMIUM,
      headless: true,
      // Root in CI containers cannot use Chromium's sandbox.
      args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu', '--force-prefers-reduced-motion'],
    });
    await mkdir(DOCS, { recursive: true });
  });

  afterAll(async () => {
    await browser?.close();
    await readOnly?.close();
    await writable?.close();
    await bucket?.close();
    await cluster?.stop();
  });

  async function open(url: string, width = 1280, height = 900): Promise<Page> {
    const page = await browser.newPage();
    await page.setViewport({ width, height });
    page.on('pageerror', (error) => {
      throw error;
    });
    page.on('response', async (response) => {
      answers.push(await response.text().catch(() => ''));
    });
    await page.goto(url, { waitUntil: 'load' });
    return page;
  }

  /** Waits for the page's next completed refresh after now. */
  async function nextRefresh(page: Page): Promise<void> {
    const count = await page.evaluate(() => Number(document.body.dataset.loaded ?? 0));
    await page.waitForFunction((seen) => Number(document.body.dataset.loaded ?? 0) > seen, {}, count);
  }

  const text = (page: Page, selector: string) =>
    page.$eval(selector, (element) => (element.textContent ?? '').trim());

  it('shows the cluster: the leader, the epoch, the workers and every job state (read-only)', async () => {
    const page = await open(readOnly.url);
    await page.waitForSelector('tr[data-job="minutely-sync"]');
    expect(await text(page, '#leader')).toBe('worker-1');
    expect(await text(page, '#epoch')).toBe('2');
    expect(await text(page, '#worker-count')).toBe('2');
    expect(await page.$$eval('#hand-overs tbody tr', (rows) => rows.map((row) => row.textContent))).toEqual([
      expect.stringMatching(/^2worker-1worker-0/),
      expect.stringMatching(/^1worker-0—/),
    ]);
    expect(await text(page, '#mode')).toBe('Read-only');
    expect(await text(page, 'tr[data-job="cleanup"] .state')).toContain('Waiting for the storage migration');
    expect(await text(page, 'tr[data-job="nightly-report"] .state')).toBe('active');
    expect(await text(page, 'tr[data-job="minutely-sync"] td:nth-of-type(1)')).toContain('Every minute');
    // Read-only: no action button at all, and the API refuses one forged by hand.
    expect(await page.$$('button')).toHaveLength(0);
    const forged = await page.evaluate(async () => {
      const response = await fetch('api/jobs/nightly-report/pause', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{}',
      });
      return response.status;
    });
    expect(forged).toBe(403);
    expect(cluster.plugin.getJobStatus('nightly-report')?.paused).toBe(false);
    // Every table header cell has a scope.
    expect(await page.$$eval('th:not([scope])', (cells) => cells.length)).toBe(0);
    await page.screenshot({ path: new URL('overview.png', DOCS).pathname, fullPage: true });
    await page.close();
  });

  it('updates without a reload when the cluster changes', async () => {
    const page = await open(readOnly.url);
    await page.waitForSelector('tr[data-job="nightly-report"]');
    await page.evaluate(() => {
      (window as unknown as { marker: string }).marker = 'same page';
    });
    await cluster.plugin.pauseJob('nightly-report', 'Paused by the release script');
    await page.waitForFunction(() =>
      document
        .querySelector('tr[data-job="nightly-report"] .state')
        ?.textContent?.includes('Paused by the release script'),
    );
    expect(await page.evaluate(() => (window as unknown as { marker: string }).marker)).toBe('same page');
    await cluster.plugin.resumeJob('nightly-report');
    await page.waitForFunction(
      () => document.querySelector('tr[data-job="nightly-report"] .state')?.textContent === 'active',
    );
    await page.close();
  });

  it("filters a job's history by status, pages it, charts it and opens a run", async () => {
    const page = await open(`${readOnly.url}#/job/minutely-sync`);
    await page.waitForSelector('#history tbody tr[data-status]');
    expect(await page.$$eval('#history tbody tr', (rows) => rows.length)).toBe(12);
    expect(await page.$eval('#duration-chart', (svg) => svg.getAttribute('aria-label'))).toBe(
      'Last 12 runs: 9 completed, 3 failed; longest 3.3 s.',
    );
    expect(await page.$$eval('#duration-chart rect', (bars) => bars.length)).toBe(12);
    await page.screenshot({ path: new URL('job-history.png', DOCS).pathname, fullPage: true });

    // The filter is a labelled select, used from the keyboard.
    await page.focus('#status-filter');
    await page.select('#status-filter', 'failed');
    await page.waitForFunction(() => {
      const rows = [...document.querySelectorAll('#history tbody tr')];
      return rows.length === 3 && rows.every((row) => row.getAttribute('data-status') === 'failed');
    });
    expect(page.url()).toContain('#/job/minutely-sync?status=failed');

    // Open the newest failed run.
    await page.click('#history tbody tr a');
    await page.waitForSelector('#run-status');
    expect(await text(page, '#run-status')).toBe('failed');
    expect(await text(page, '#run-error')).toContain('upstream returned 503');
    expect(await text(page, '.facts')).toMatch(/Instance\s*worker-0/);
    expect(await text(page, '.facts')).toContain('Start lateness');
    await page.screenshot({ path: new URL('run.png', DOCS).pathname, fullPage: true });
    await page.close();
  });

  it('pages history with Older and Newer', async () => {
    const page = await open(`${readOnly.url}#/job/minutely-sync?limit=5`);
    const rows = () => page.$$eval('#history tbody tr a', (links) => links.map((link) => link.textContent));
    await page.waitForSelector('#history tbody tr[data-status]');
    const first = await rows();
    expect(first).toHaveLength(5);
    expect(await page.$eval('#newer', (button) => (button as HTMLButtonElement).disabled)).toBe(true);
    await page.click('#older');
    await page.waitForFunction(
      (seen) => document.querySelector('#history tbody tr a')?.textContent !== seen,
      {},
      first[0],
    );
    const second = await rows();
    expect(second).toHaveLength(5);
    expect(second.filter((run) => first.includes(run))).toEqual([]);
    expect(await text(page, '.pager')).toContain('Page 2');
    await page.click('#older');
    await page.waitForFunction(() => document.querySelector('.pager')?.textContent?.includes('Page 3'));
    expect(await rows()).toHaveLength(2);
    expect(await page.$eval('#older', (button) => (button as HTMLButtonElement).disabled)).toBe(true);
    await page.click('#newer');
    await page.click('#newer');
    await page.waitForFunction(() => document.querySelector('.pager')?.textContent?.includes('Page 1'));
    expect(await rows()).toEqual(first);
    await page.close();
  });

  it('pauses and resumes from the page when actions are allowed, reachable by keyboard', async () => {
    const page = await open(writable.url);
    await page.waitForSelector('tr[data-job="nightly-report"] button');
    expect(await text(page, '#mode')).toBe('Actions enabled');
    // Every button has an accessible name that says which job it acts on.
    const labels = await page.$$eval('button', (buttons) =>
      buttons.map((button) => button.getAttribute('aria-label')),
    );
    expect(labels).toContain('Pause nightly-report');
    expect(labels.every(Boolean)).toBe(true);
    // Keyboard: Tab reaches the pause button, Enter presses it.
    let reached = false;
    for (let i = 0; i < 40 && !reached; i++) {
      await page.keyboard.press('Tab');
      reached = await page.evaluate(
        () => document.activeElement?.getAttribute('aria-label') === 'Pause nightly-report',
      );
    }
    expect(reached).toBe(true);
    await page.keyboard.press('Enter');
    await page.waitForFunction(() =>
      document.querySelector('tr[data-job="nightly-report"] .state')?.textContent?.startsWith('paused'),
    );
    expect(cluster.plugin.getJobStatus('nightly-report')).toMatchObject({
      paused: true,
      pausedNote: 'Paused from the dashboard',
    });
    await page.screenshot({ path: new URL('actions.png', DOCS).pathname, fullPage: true });
    await page.click('tr[data-job="nightly-report"] button[aria-label="Resume nightly-report"]');
    await page.waitForFunction(
      () => document.querySelector('tr[data-job="nightly-report"] .state')?.textContent === 'active',
    );
    expect(cluster.plugin.getJobStatus('nightly-report')?.paused).toBe(false);
    await page.close();
  });

  it('shows the same cluster when it reads the bucket itself (store option)', async () => {
    const page = await open(bucket.url);
    await page.waitForSelector('tr[data-job="minutely-sync"]');
    expect(await text(page, '#leader')).toBe('worker-1');
    expect(await text(page, '#epoch')).toBe('2');
    expect(await text(page, '#worker-count')).toBe('2');
    // Its first read found worker-1 leading: that is where it starts, not a hand-over.
    expect(await page.$$eval('#hand-overs tbody tr', (rows) => rows.map((row) => row.textContent))).toEqual([
      'No hand-over since the dashboard started.',
    ]);
    expect(await text(page, 'tr[data-job="cleanup"] .state')).toContain('Waiting for the storage migration');
    expect(await text(page, 'tr[data-job="minutely-sync"] .last-status')).toContain('completed');
    await page.click('tr[data-job="minutely-sync"] a');
    await page.waitForSelector('#status-filter');
    await page.select('#status-filter', 'failed');
    await page.waitForFunction(() => {
      const rows = [...document.querySelectorAll('#history tbody tr')];
      return rows.length === 3 && rows.every((row) => row.getAttribute('data-status') === 'failed');
    });
    await page.close();
  });

  it('fits a phone screen', async () => {
    const page = await open(readOnly.url, 390, 844);
    await page.waitForSelector('tr[data-job="minutely-sync"]');
    await nextRefresh(page);
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await page.screenshot({ path: new URL('phone.png', DOCS).pathname, fullPage: true });
    await page.close();
    // Nothing the browser received, on any page, held the secret.
    expect(answers.length).toBeGreaterThan(20);
    for (const answer of answers) expect(answer).not.toContain(SECRET);
  });
});
