/** The camera wall: a tile per camera (picture, state, top labels, open events) and, for admins, adding and removing cameras. */
import { useEffect, useState } from 'preact/hooks';
import { api, ApiError, snapshotUrl } from './api.js';
import type { CameraView, LiveStore } from './live-store.js';
import { labelColour } from './colours.js';

/** Snapshots are low-rate on purpose: a picture a second tells an operator what a camera sees. */
const SNAPSHOT_MS = 1000;

function usePicture(camera: string): string | undefined {
  const [src, setSrc] = useState<string>();
  useEffect(() => {
    let current: string | undefined;
    let stop = false;
    const tick = async (): Promise<void> => {
      // A hidden tab asks for nothing: nobody sees the picture.
      const next = document.hidden ? undefined : await snapshotUrl(camera).catch(() => undefined);
      if (stop) {
        if (next !== undefined) URL.revokeObjectURL(next);
        return;
      }
      if (next !== undefined) {
        if (current !== undefined) URL.revokeObjectURL(current);
        current = next;
        setSrc(next);
      }
      timer = setTimeout(() => void tick(), SNAPSHOT_MS);
    };
    let timer = setTimeout(() => void tick(), 0);
    return () => {
      stop = true;
      clearTimeout(timer);
      if (current !== undefined) URL.revokeObjectURL(current);
    };
  }, [camera]);
  return src;
}

function Tile({ cam, canAdmin, onRemoved }: { cam: CameraView; canAdmin: boolean; onRemoved: (id: string) => void }) {
  const picture = usePicture(cam.id);
  const [error, setError] = useState('');
  const open = [...cam.open.values()];
  const remove = async (): Promise<void> => {
    try {
      await api('DELETE', `/cameras/${encodeURIComponent(cam.id)}`);
      onRemoved(cam.id);
    } catch (err) {
      setError((err as Error).message);
    }
  };
  const status = cam.status ?? 'connecting';
  return (
    <li class={`tile${open.length > 0 ? ' has-event' : ''}`} data-testid={`tile-${cam.id}`} data-status={status} data-window={cam.lastWindowEnd} aria-label={`camera ${cam.id}`}>
      <div class="tile-head">
        <h3>{cam.id}</h3>
        <span class={`badge badge-${status}`} data-testid="state">{status}</span>
      </div>
      <div class="picture">{picture === undefined ? <span class="muted">no picture yet</span> : <img src={picture} alt={`newest frame of camera ${cam.id}`} />}</div>
      {open.length > 0 && (
        <p class="open-events" data-testid="open-events">
          {open.map((e) => (
            <span key={e.label} class="open-event">
              ● {e.label} {(e.score * 100).toFixed(0)}%
            </span>
          ))}
        </p>
      )}
      <ul class="scores" data-testid="top-labels" aria-label={`top labels of camera ${cam.id}`}>
        {cam.topk.slice(0, 5).map((s) => (
          <li key={s.label}>
            <span class="score-label">{s.label}</span>
            <span class="bar" aria-hidden="true">
              <span style={{ width: `${Math.round(s.score * 100)}%`, background: labelColour(s.label) }} />
            </span>
            <span class="score-value">{(s.score * 100).toFixed(0)}%</span>
          </li>
        ))}
      </ul>
      {cam.url !== undefined && <p class="url muted">{cam.url}</p>}
      {canAdmin && cam.url !== undefined && (
        <button type="button" class="secondary" onClick={() => void remove()} aria-label={`remove camera ${cam.id}`}>
          Remove
        </button>
      )}
      {error !== '' && <p class="error" role="alert">{error}</p>}
    </li>
  );
}

function AddCamera({ onAdded }: { onAdded: () => void }) {
  const [id, setId] = useState('');
  const [url, setUrl] = useState('');
  const [error, setError] = useState<ApiError | Error | null>(null);
  const submit = async (e: Event): Promise<void> => {
    e.preventDefault();
    try {
      await api('POST', '/cameras', { id: id.trim(), url: url.trim() });
      setId('');
      setUrl('');
      setError(null);
      onAdded();
    } catch (err) {
      setError(err as Error);
    }
  };
  const about = (field: string): string[] => (error instanceof ApiError ? error.about(field) : []);
  const general = error !== null && about('id').length === 0 && about('url').length === 0 ? error.message : '';
  return (
    <form class="add-camera" onSubmit={(e) => void submit(e)} aria-label="add a camera">
      <Field id="cam-id" label="Camera id" value={id} onInput={setId} errors={about('id')} placeholder="door" />
      <Field id="cam-url" label="URL" value={url} onInput={setUrl} errors={about('url')} placeholder="rtsp://10.0.0.5/stream1" wide />
      <button type="submit">Add camera</button>
      {general !== '' && <p class="error" role="alert" data-testid="add-camera-error">{general}</p>}
    </form>
  );
}

/** An input with its label and the API's errors about it, tied together for screen readers. */
export function Field(p: { id: string; label: string; value: string; onInput: (v: string) => void; errors: readonly string[]; placeholder?: string; wide?: boolean }) {
  const errId = `${p.id}-error`;
  return (
    <div class={`field${p.wide === true ? ' wide' : ''}`}>
      <label for={p.id}>{p.label}</label>
      <input id={p.id} value={p.value} placeholder={p.placeholder} onInput={(e) => p.onInput((e.target as HTMLInputElement).value)} aria-invalid={p.errors.length > 0} aria-describedby={p.errors.length > 0 ? errId : undefined} />
      {p.errors.length > 0 && (
        <p class="error" id={errId} role="alert">
          {p.errors.join('; ')}
        </p>
      )}
    </div>
  );
}

export function CameraWall({ store, canAdmin, reload }: { store: LiveStore; canAdmin: boolean; reload: () => void }) {
  const cams = [...store.cameras.values()].sort((a, b) => a.id.localeCompare(b.id));
  return (
    <section aria-labelledby="wall-title">
      <h2 id="wall-title">Cameras</h2>
      {cams.length === 0 && <p class="muted">No cameras yet.</p>}
      <ul class="wall" data-testid="wall">
        {cams.map((c) => (
          <Tile key={c.id} cam={c} canAdmin={canAdmin} onRemoved={(id) => store.removeCamera(id)} />
        ))}
      </ul>
      {canAdmin && <AddCamera onAdded={reload} />}
    </section>
  );
}
