// The dashboard in a real browser: Debian's Chromium (installed by scripts/setup-test-infra.sh)
// driven by playwright-core, against the live service on 127.0.0.1 with the reference model (the
// engine double when ../shared is absent: never skipped), an RTSP camera (mediamtx fed by ffmpeg)
// and API tokens. Screenshots go to test-output/dashboard/.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLive, type LiveHandle } from '../../pipelines/live.js';
import { silentLogger } from '../../src/observability/logger.js';
import { createToken } from '../../src/security/tokens.js';
import { HAVE_FIXTURES, REPO_ROOT } from '../support/fixtures.js';
import { DeterministicEngine } from '../support/deterministic-engine.js';
import { patternLiveConfig } from '../support/pattern-live.js';
import { referenceLiveConfig } from '../support/reference-live.js';
import { publishTestPattern, startRtspServer, type Publisher, type RtspServer } from '../../harness/rtsp-server.js';

const OUT = path.join(REPO_ROOT, 'test-output', 'dashboard');
const tokens = { admin: createToken('admin', 'ada'), viewer: createToken('viewer', 'vic') };

/** Debian's package puts it on PATH; CHROMIUM_PATH overrides. Absent: fail, never skip (CI installs it). */
function chromiumPath(): string {
  const candidates = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'].filter((p): p is string => p !== undefined && p !== '');
  const found = candidates.find((p) => existsSync(p));
  if (found === undefined) throw new Error(`Chromium is not installed (looked at ${candidates.join(', ')}): run bash scripts/setup-test-infra.sh, which installs Debian's chromium`);
  return found;
}

let rtsp: RtspServer;
const publishers: Publisher[] = [];
let live: LiveHandle;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let dir: string;
/** Console errors and page errors, with the URL they are about. */
const problems: Array<{ text: string; url: string }> = [];

function watch(p: Page): void {
  p.on('console', (m) => {
    if (m.type() === 'error') problems.push({ text: m.text(), url: m.location().url });
  });
  p.on('pageerror', (err) => problems.push({ text: `page error: ${err.message}`, url: '' }));
}

async function signIn(p: Page, token: string): Promise<void> {
  await p.goto(live.url);
  await p.getByLabel('Access token').fill(token);
  await p.getByRole('button', { name: 'Sign in' }).click();
  await p.getByRole('heading', { name: 'Cameras' }).waitFor();
}

async function apiCall(method: string, route: string, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(live.url + route, { method, headers: { authorization: `Bearer ${tokens.admin.token}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, json: text === '' ? undefined : JSON.parse(text) };
}

const topLabels = (camera: string) => page.getByTestId(`tile-${camera}`).getByTestId('top-labels').locator('.score-label').allTextContents();

if (!HAVE_FIXTURES) console.warn('[dashboard] the reference fixtures are absent: the browser tests run the service on the deterministic engine double');

describe(`dashboard in Chromium (${HAVE_FIXTURES ? 'reference model' : 'engine double'}, RTSP camera, tokens)`, () => {
  beforeAll(async () => {
    const executablePath = chromiumPath();
    // The page the service serves is the one `npm run build` makes: build it now (esbuild, about a second).
    execFileSync(process.execPath, [path.join(REPO_ROOT, 'scripts', 'build-dashboard.mjs')], { stdio: 'pipe' });
    dir = await mkdtemp(path.join(tmpdir(), 'actionclip-dashboard-'));
    await writeFile(path.join(dir, 'tokens'), `${tokens.admin.line}\n${tokens.viewer.line}\n`, { mode: 0o600 });
    await mkdir(OUT, { recursive: true });
    rtsp = await startRtspServer();
    for (const cam of ['cam1', 'cam2']) publishers.push(await publishTestPattern(rtsp.url(cam), { fps: 5, width: 160, height: 120 }));
    const overrides = {
      cameras: [{ id: 'cam1', url: rtsp.url('cam1') }],
      decode: { width: 64, height: 48 },
      // Any top label starts an event at once: the timeline has bars within seconds.
      tracker: { enterThreshold: 0.2, exitThreshold: 0.1, minWindows: 1, cooldownWindows: 1 },
      // The RTSP server of this test is on loopback, which the URL policy refuses by default.
      security: { tokensFile: path.join(dir, 'tokens'), cameraUrls: { allowLoopback: true } },
    };
    // The page is what is under test: without the shared fixtures the engine double stands in for the model.
    const config = HAVE_FIXTURES ? referenceLiveConfig(overrides) : patternLiveConfig({ ...overrides, labels: ['walking', 'running', 'jumping'], fps: 4 });
    live = await startLive({ config, engine: HAVE_FIXTURES ? undefined : new DeterministicEngine(), logger: silentLogger() });
    browser = await chromium.launch({
      executablePath,
      // Root in a container has no user namespace for the sandbox; nothing beyond loopback resolves.
      args: ['--no-sandbox', '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1', '--disable-component-update', '--disable-background-networking'],
    });
    context = await browser.newContext({ viewport: { width: 1280, height: 720 } });
    page = await context.newPage();
    watch(page);
    await signIn(page, tokens.admin.token);
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
    await live?.stop();
    for (const p of publishers) await p.stop().catch(() => undefined);
    await rtsp?.stop();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  }, 120_000);

  it('loads with no console errors; a tile per camera with its state; top labels update as windows arrive', async () => {
    const tile = page.getByTestId('tile-cam1');
    await expect.poll(() => tile.getAttribute('data-status'), { timeout: 90_000 }).toBe('streaming');
    await expect.poll(async () => (await topLabels('cam1')).length, { timeout: 90_000 }).toBeGreaterThan(0);
    expect(await topLabels('cam1')).toEqual(expect.arrayContaining([expect.stringMatching(/^(walking|running|jumping)$/)]));
    const first = await tile.getAttribute('data-window');
    await expect.poll(() => tile.getAttribute('data-window'), { timeout: 60_000 }).not.toBe(first);
    await expect(tile.getByRole('img', { name: 'newest frame of camera cam1' }).waitFor({ timeout: 30_000 })).resolves.toBeUndefined();
    await page.getByTestId('wall').screenshot({ path: path.join(OUT, 'wall.png') });
    expect(problems).toEqual([]);
  });

  it('adds a camera from the page (it appears and streams) and removes it', async () => {
    await page.getByLabel('Camera id').fill('cam2');
    await page.getByLabel('URL').fill(rtsp.url('cam2'));
    await page.getByRole('button', { name: 'Add camera' }).click();
    const tile = page.getByTestId('tile-cam2');
    await expect.poll(() => tile.getAttribute('data-status'), { timeout: 90_000 }).toBe('streaming');
    await expect.poll(async () => (await topLabels('cam2')).length, { timeout: 90_000 }).toBeGreaterThan(0);
    expect((await apiCall('GET', '/cameras')).json.map((c: { id: string }) => c.id).sort()).toEqual(['cam1', 'cam2']);
    await page.getByRole('button', { name: 'remove camera cam2' }).click();
    await tile.waitFor({ state: 'detached', timeout: 30_000 });
    expect((await apiCall('GET', '/cameras')).json.map((c: { id: string }) => c.id)).toEqual(['cam1']);
    expect(problems).toEqual([]);
  });

  it('an event bar appears on the timeline and opens its score curve and detection JSON', async () => {
    const bar = page.getByTestId('event-bar').first();
    await bar.waitFor({ timeout: 90_000 });
    // By keyboard: the bars are buttons, reached with Tab and opened with Enter.
    await bar.focus();
    await page.keyboard.press('Enter');
    const detail = page.getByTestId('event-detail');
    await detail.getByTestId('score-curve').locator('canvas').waitFor();
    const json = JSON.parse((await detail.getByTestId('event-json').textContent()) ?? '{}') as { type: string; camera: string };
    expect(['start', 'update', 'end']).toContain(json.type);
    expect(json.camera).toBe('cam1');
    await page.getByTestId('timeline').screenshot({ path: path.join(OUT, 'timeline.png') });
    // The whole page as a person first sees it (docs/dashboard.png, in the README, is a copy of this).
    await page.evaluate('window.scrollTo(0, 0)');
    await page.screenshot({ path: path.join(OUT, 'dashboard.png') });
    expect(problems).toEqual([]);
  });

  it('changing the vocabulary from the editor increments the version and tiles show the new labels', async () => {
    const editor = page.getByTestId('vocabulary');
    const version = editor.getByTestId('vocabulary-version');
    await expect.poll(() => version.textContent()).toBe('version 1');
    await editor.getByLabel(/^Labels/).fill('waving\nclapping');
    await editor.getByRole('button', { name: 'Apply' }).click();
    await expect.poll(() => version.textContent(), { timeout: 60_000 }).toBe('version 2');
    await expect.poll(async () => (await topLabels('cam1')).sort(), { timeout: 60_000 }).toEqual(['clapping', 'waving']);
    expect(problems).toEqual([]);
  });

  it('"try a label" scores the current windows against a draft and changes nothing', async () => {
    await page.getByLabel(/^Try a label/).fill('juggling');
    await page.getByRole('button', { name: 'Score it' }).click();
    await expect.poll(() => page.getByTestId('try-results').textContent(), { timeout: 30_000 }).toMatch(/cam1: “juggling” \d+%/);
    expect((await apiCall('GET', '/vocabulary')).json).toMatchObject({ version: 2, labels: ['waving', 'clapping'] });
    expect(problems).toEqual([]);
  });

  it("a bad vocabulary shows the API's error next to the field and changes nothing", async () => {
    const editor = page.getByTestId('vocabulary');
    await editor.getByLabel(/^Templates/).fill('a video without a placeholder');
    await editor.getByRole('button', { name: 'Apply' }).click();
    const shown = editor.getByTestId('templates-error');
    await shown.waitFor();
    const fromApi = await apiCall('PUT', '/vocabulary', { labels: ['waving', 'clapping'], templates: ['a video without a placeholder'] });
    expect(fromApi.status).toBe(400);
    const issue = fromApi.json.issues[0] as { field: string; message: string };
    expect(await shown.textContent()).toBe(`${issue.field}: ${issue.message}`);
    expect(await editor.getByTestId('vocabulary-version').textContent()).toBe('version 2');
    expect((await apiCall('GET', '/vocabulary')).json).toMatchObject({ version: 2, labels: ['waving', 'clapping'] });
    await editor.screenshot({ path: path.join(OUT, 'editor.png') });
    // The only console error is the browser's note of the 400 it was sent.
    expect(problems.filter((p) => !(p.url.endsWith('/vocabulary') && p.text.includes('400')))).toEqual([]);
  });

  it('the health panel charts the figures of /metrics', async () => {
    const frames = page.getByTestId('health').locator('figure', { hasText: 'Frames in per second' });
    await expect.poll(() => frames.locator('figcaption').textContent(), { timeout: 30_000 }).toMatch(/cam1 \d/);
    await frames.locator('canvas').waitFor();
    const latency = page.getByTestId('health').locator('figure', { hasText: 'Frame to detection' });
    await expect.poll(() => latency.locator('figcaption').textContent(), { timeout: 30_000 }).toMatch(/p50 \d.*p99 \d/);
    await page.getByTestId('health').screenshot({ path: path.join(OUT, 'health.png') });
  });

  it('axe-core finds no serious or critical accessibility violations', async () => {
    const axe = await readFile(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
    // Evaluated through the DevTools protocol: the page's CSP (script-src 'self') stays on and is not loosened for the test.
    await page.evaluate(axe);
    const violations = (await page.evaluate(`axe.run(document).then((r) => r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => n.target.join(' ')) })))`)) as Array<{ id: string; impact: string }>;
    await writeFile(path.join(OUT, 'axe.json'), JSON.stringify(violations, null, 2));
    expect(violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')).toEqual([]);
  });

  it('fits a phone-width screen without sideways scrolling', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.getByTestId('tile-cam1').waitFor();
    // Charts follow their box a frame after the resize (ResizeObserver): wait for the layout to settle.
    await expect.poll(async () => (await page.evaluate('document.documentElement.scrollWidth - window.innerWidth')) as number).toBeLessThanOrEqual(1);
    await page.screenshot({ path: path.join(OUT, 'phone.png') });
    await page.setViewportSize({ width: 1280, height: 720 });
  });

  it('a viewer sees the cameras but no editing controls', async () => {
    const viewer = await context.browser()!.newContext({ viewport: { width: 1280, height: 720 } });
    const p = await viewer.newPage();
    watch(p);
    await signIn(p, tokens.viewer.token);
    await p.getByTestId('tile-cam1').waitFor();
    // Events of the first vocabulary ended before this page opened: only the catch-up (GET /events) brings them.
    await p.getByLabel('Show the last').selectOption({ label: '30 minutes' });
    await p.getByRole('button', { name: /^(walking|running|jumping) on cam1 from .* to / }).first().waitFor({ timeout: 10_000 });
    expect(await p.getByTestId('tile-cam2').count()).toBe(0);
    expect(await p.getByRole('button', { name: 'Add camera' }).count()).toBe(0);
    expect(await p.getByRole('button', { name: /^remove camera/ }).count()).toBe(0);
    expect(await p.getByRole('button', { name: 'Apply' }).count()).toBe(0);
    expect(await p.getByLabel(/^Try a label/).count()).toBe(0);
    await viewer.close();
    expect(problems.filter((x) => !(x.url.endsWith('/vocabulary') && x.text.includes('400')))).toEqual([]);
  });
});
