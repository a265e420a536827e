/**
 * The vocabulary editor: labels and templates as text, the version and its history, presets, apply
 * (the API's errors beside the field they name), and "try a label" on the cameras' current windows.
 */
import { useEffect, useState } from 'preact/hooks';
import hmdb51 from '../config/vocabularies/hmdb51.json';
import kinetics400 from '../config/vocabularies/kinetics400.json';
import ucf101 from '../config/vocabularies/ucf101.json';
import { api, ApiError } from './api.js';
import type { DraftResult, VocabularyView } from './messages.js';

const PRESETS: Record<string, { labels: readonly string[] }> = { kinetics400, ucf101, hmdb51 };
const PRESET_NAMES: Record<string, string> = { kinetics400: 'Kinetics-400', ucf101: 'UCF101', hmdb51: 'HMDB51' };

const lines = (text: string): string[] => text.split('\n').map((l) => l.trim()).filter((l) => l !== '');

function FieldErrors({ id, errors }: { id: string; errors: readonly string[] }) {
  if (errors.length === 0) return null;
  return (
    <p class="error" id={id} role="alert" data-testid={id}>
      {errors.join('; ')}
    </p>
  );
}

function TryLabel({ labels, templates }: { labels: readonly string[]; templates: readonly string[] }) {
  const [label, setLabel] = useState('');
  const [result, setResult] = useState<DraftResult>();
  const [error, setError] = useState('');
  const submit = async (e: Event): Promise<void> => {
    e.preventDefault();
    const l = label.trim();
    const draft = labels.includes(l) ? [...labels] : [...labels, l];
    try {
      setResult(await api<DraftResult>('POST', '/vocabulary/try', { labels: draft, templates }));
      setError('');
    } catch (err) {
      setError(err instanceof ApiError && err.issues.length > 0 ? err.issues.map((i) => i.message).join('; ') : (err as Error).message);
      setResult(undefined);
    }
  };
  const tried = label.trim();
  return (
    <form class="try-label" onSubmit={(e) => void submit(e)} aria-label="try a label">
      <div class="field">
        <label for="try-label">Try a label on the current windows (nothing changes)</label>
        <input id="try-label" value={label} onInput={(e) => setLabel((e.target as HTMLInputElement).value)} aria-describedby={error !== '' ? 'try-error' : undefined} />
      </div>
      <button type="submit" class="secondary">
        Score it
      </button>
      {error !== '' && (
        <p class="error" id="try-error" role="alert">
          {error}
        </p>
      )}
      {result !== undefined && (
        <ul class="try-results" data-testid="try-results">
          {result.cameras.length === 0 && <li class="muted">No camera has a window yet.</li>}
          {result.cameras.map((c) => {
            const s = c.scores.find((x) => x.label === tried)?.score ?? 0;
            return (
              <li key={c.camera}>
                <strong>{c.camera}</strong>: “{tried}” {(s * 100).toFixed(0)}% · best {c.topk.slice(0, 3).map((t) => `${t.label} ${(t.score * 100).toFixed(0)}%`).join(', ')}
              </li>
            );
          })}
        </ul>
      )}
    </form>
  );
}

function History({ history }: { history: readonly VocabularyView[] }) {
  return (
    <details>
      <summary>History ({history.length} versions)</summary>
      <ol class="history" reversed>
        {[...history].reverse().map((v) => (
          <li key={v.version}>
            version {v.version}, {v.createdAt === undefined ? '' : new Date(v.createdAt).toLocaleTimeString([], { hour12: false })}: {v.labels.length} labels ({v.labels.slice(0, 5).join(', ')}
            {v.labels.length > 5 ? ', …' : ''})
          </li>
        ))}
      </ol>
    </details>
  );
}

/** The vocabulary as the API has it, the text being edited, and applying it. */
function useVocabulary(seenVersion: number) {
  const [current, setCurrent] = useState<VocabularyView>();
  const [history, setHistory] = useState<readonly VocabularyView[]>([]);
  const [labels, setLabels] = useState('');
  const [templates, setTemplates] = useState('');
  const [error, setError] = useState<ApiError | Error | null>(null);
  const [busy, setBusy] = useState(false);

  const load = async (replaceText: boolean): Promise<void> => {
    const v = await api<VocabularyView>('GET', '/vocabulary');
    setCurrent(v);
    setHistory(await api<VocabularyView[]>('GET', '/vocabulary/history'));
    if (replaceText) {
      setLabels(v.labels.join('\n'));
      setTemplates(v.templates.join('\n'));
    }
  };
  useEffect(() => void load(true).catch((err: Error) => setError(err)), []);
  // Someone else changed it (another operator, Kafka): show the new version, keep what is being typed.
  useEffect(() => {
    if (current !== undefined && seenVersion > current.version) void load(false).catch(() => undefined);
  }, [seenVersion]);

  const apply = async (e: Event): Promise<void> => {
    e.preventDefault();
    setBusy(true);
    try {
      await api('PUT', '/vocabulary', { labels: lines(labels), templates: lines(templates) });
      setError(null);
      await load(true);
    } catch (err) {
      setError(err as Error);
    } finally {
      setBusy(false);
    }
  };
  return { current, history, labels, setLabels, templates, setTemplates, error, busy, apply };
}

export function VocabularyEditor({ canEdit, seenVersion }: { canEdit: boolean; seenVersion: number }) {
  const { current, history, labels, setLabels, templates, setTemplates, error, busy, apply } = useVocabulary(seenVersion);
  const about = (field: string): string[] => (error instanceof ApiError ? error.about(field) : []);
  const general = error !== null && about('labels').length === 0 && about('templates').length === 0 ? error.message : '';
  const labelErrors = about('labels');
  const templateErrors = about('templates');

  return (
    <section aria-labelledby="vocab-title" data-testid="vocabulary">
      <div class="section-head">
        <h2 id="vocab-title">Vocabulary</h2>
        <span class="version" data-testid="vocabulary-version">
          version {current?.version ?? '…'}
        </span>
      </div>
      <form class="vocabulary" onSubmit={(e) => void apply(e)}>
        <div class="field">
          <label for="vocab-labels">Labels, one per line ({lines(labels).length})</label>
          <textarea id="vocab-labels" rows={8} value={labels} readOnly={!canEdit} onInput={(e) => setLabels((e.target as HTMLTextAreaElement).value)} aria-invalid={labelErrors.length > 0} aria-describedby={labelErrors.length > 0 ? 'labels-error' : undefined} />
          <FieldErrors id="labels-error" errors={labelErrors} />
        </div>
        <div class="field">
          <label for="vocab-templates">Templates, one per line, each with {'{}'} where the label goes</label>
          <textarea id="vocab-templates" rows={5} value={templates} readOnly={!canEdit} onInput={(e) => setTemplates((e.target as HTMLTextAreaElement).value)} aria-invalid={templateErrors.length > 0} aria-describedby={templateErrors.length > 0 ? 'templates-error' : undefined} />
          <FieldErrors id="templates-error" errors={templateErrors} />
        </div>
        {canEdit && (
          <div class="actions">
            <label>
              Preset{' '}
              <select value="" onChange={(e) => setLabels([...(PRESETS[(e.target as HTMLSelectElement).value]?.labels ?? lines(labels))].join('\n'))}>
                <option value="">choose…</option>
                {Object.keys(PRESETS).map((k) => (
                  <option key={k} value={k}>
                    {PRESET_NAMES[k]}
                  </option>
                ))}
              </select>
            </label>
            <button type="submit" disabled={busy}>
              {busy ? 'Applying…' : 'Apply'}
            </button>
          </div>
        )}
        {general !== '' && (
          <p class="error" role="alert" data-testid="vocabulary-error">
            {general}
          </p>
        )}
      </form>
      {canEdit && current !== undefined && <TryLabel labels={current.labels} templates={current.templates} />}
      <History history={history} />
    </section>
  );
}
