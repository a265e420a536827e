/** The dashboard: who is looking (token), the live connection, and the four panels. */
import { render } from 'preact';
import { useEffect, useMemo, useState } from 'preact/hooks';
import 'uplot/dist/uPlot.min.css';
import './style.css';
import { api, openSocket, savedToken, saveToken } from './api.js';
import { HealthPanel } from './health.js';
import { LiveStore } from './live-store.js';
import type { CameraInfo, DetectionMessage, Me } from './messages.js';
import { Timeline } from './timeline.js';
import { VocabularyEditor } from './vocabulary.js';
import { CameraWall } from './wall.js';

/** Re-render at most this often: windows of many cameras arrive many times a second. */
const RENDER_MS = 250;

function useLive(store: LiveStore): number {
  const [, setTick] = useState(0);
  useEffect(() => {
    let pending = false;
    return store.subscribe(() => {
      if (pending) return;
      pending = true;
      setTimeout(() => {
        pending = false;
        setTick((n) => n + 1);
      }, RENDER_MS);
    });
  }, [store]);
  return Date.now();
}

/** Keeps /ws open (reconnecting with growing waits) and feeds the store; the camera list is re-read when a new one speaks. */
function connect(store: LiveStore, reloadCameras: () => Promise<void>): () => void {
  let ws: WebSocket | undefined;
  let wait = 500;
  let closed = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const open = async (): Promise<void> => {
    // What was published before (the page opened late, or the connection dropped): the timeline's past.
    // Only for cameras still watched (the list first): a removed camera's past would make a tile of it.
    await reloadCameras();
    const past = await api<DetectionMessage[]>('GET', `/events?since=${store.latest}`).catch(() => []);
    for (const m of past) if (store.cameras.has(m.camera)) store.receive(m);
    store.changed();
    if (closed) return;
    ws = openSocket();
    ws.onopen = () => {
      wait = 500;
      store.connected = true;
      ws!.send(JSON.stringify({ type: 'subscribe' }));
    };
    ws.onmessage = (e) => {
      const m = JSON.parse(String(e.data)) as DetectionMessage | { type: 'subscribed' | 'error'; camera?: undefined };
      if (m.camera === undefined) return; // replies to our own messages
      if (store.receive(m as DetectionMessage)) void reloadCameras();
      store.changed();
    };
    ws.onclose = () => {
      store.connected = false;
      store.changed();
      if (!closed) timer = setTimeout(() => void open(), (wait = Math.min(wait * 2, 10_000)));
    };
  };
  void open();
  return () => {
    closed = true;
    clearTimeout(timer);
    ws?.close();
  };
}

function Login({ me, onToken }: { me: Me | undefined; onToken: (t: string) => void }) {
  const [token, setToken] = useState('');
  if (me !== undefined && !me.tokens) return <span class="muted">no tokens configured (loopback only)</span>;
  if (me?.role !== undefined)
    return (
      <span class="who">
        {me.name} ({me.role}){' '}
        <button type="button" class="secondary" onClick={() => onToken('')}>
          Sign out
        </button>
      </span>
    );
  return (
    <form
      class="login"
      onSubmit={(e) => {
        e.preventDefault();
        onToken(token.trim());
      }}
    >
      <label for="token">Access token</label>
      <input id="token" type="password" autocomplete="off" value={token} onInput={(e) => setToken((e.target as HTMLInputElement).value)} />
      <button type="submit">Sign in</button>
      {savedToken() !== '' && <span class="error" role="alert">that token is not valid here</span>}
    </form>
  );
}

function Dashboard({ me }: { me: Me }) {
  const store = useMemo(() => new LiveStore(), []);
  const reload = (): Promise<void> => api<CameraInfo[]>('GET', '/cameras').then((list) => store.setCameras(list), () => undefined);
  useEffect(() => connect(store, reload), [store]);
  const now = useLive(store);
  const role = me.tokens ? me.role : 'admin';
  const canEdit = role === 'operator' || role === 'admin';
  return (
    <main>
      <p class="status muted" aria-live="polite">
        {store.connected ? 'live' : 'connecting…'}
      </p>
      <CameraWall store={store} canAdmin={role === 'admin'} reload={() => void reload()} />
      <Timeline store={store} now={now} />
      <VocabularyEditor canEdit={canEdit} seenVersion={store.vocabularyVersion} />
      <HealthPanel />
    </main>
  );
}

function App() {
  const [me, setMe] = useState<Me>();
  const check = (): void => void api<Me>('GET', '/me').then(setMe, () => setMe({ tokens: true }));
  useEffect(check, []);
  const signIn = (token: string): void => {
    saveToken(token);
    setMe(undefined);
    check();
  };
  const allowed = me !== undefined && (!me.tokens || me.role !== undefined);
  return (
    <>
      <header>
        <h1>actionclip-stream</h1>
        <Login me={me} onToken={signIn} />
      </header>
      {allowed ? <Dashboard key={savedToken()} me={me} /> : <main>{me === undefined ? <p>Loading…</p> : <p>Sign in with an access token to see the cameras.</p>}</main>}
    </>
  );
}

render(<App />, document.getElementById('app')!);
