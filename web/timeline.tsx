/** Events per camera as bars over the last minutes or hours, coloured by label; one opens its score curve and JSON. */
import { useState } from 'preact/hooks';
import { Chart } from './chart.js';
import { labelColour } from './colours.js';
import { lanes, type LiveStore, type TimelineEvent } from './live-store.js';

const RANGES: ReadonlyArray<[string, number]> = [
  ['minute', 60_000],
  ['5 minutes', 5 * 60_000],
  ['30 minutes', 30 * 60_000],
  ['2 hours', 2 * 60 * 60_000],
];

/** Height of one lane of a camera's row. */
const LANE_REM = 1.1;

const clock = (t: number): string => new Date(t).toLocaleTimeString([], { hour12: false });

function Bar({ ev, lane, from, span, now, onOpen, selected }: { ev: TimelineEvent; lane: number; from: number; span: number; now: number; onOpen: () => void; selected: boolean }) {
  const start = Math.max(ev.start, from);
  const end = ev.end ?? now;
  const left = ((start - from) / span) * 100;
  const width = Math.max(0.6, ((end - start) / span) * 100);
  const what = `${ev.label} on ${ev.camera} from ${clock(ev.start)} ${ev.end === undefined ? '(still open)' : `to ${clock(ev.end)}`}`;
  return (
    <button
      type="button"
      class={`event-bar${ev.end === undefined ? ' open' : ''}${selected ? ' selected' : ''}`}
      style={{ left: `${left}%`, width: `${Math.min(width, 100 - left)}%`, top: `${lane * LANE_REM + 0.15}rem`, background: labelColour(ev.label) }}
      aria-label={what}
      title={what}
      aria-pressed={selected}
      data-testid="event-bar"
      onClick={onOpen}
    />
  );
}

function EventDetail({ store, ev }: { store: LiveStore; ev: TimelineEvent }) {
  const curve = store.curve(ev);
  return (
    <div class="event-detail" data-testid="event-detail">
      <h3>
        {ev.label} on {ev.camera}, {clock(ev.start)} – {ev.end === undefined ? 'now' : clock(ev.end)}
      </h3>
      <Chart title={`score of ${ev.label} in each window of the event`} data={[curve.t, curve.score]} series={[ev.label]} yRange={[0, 1]} testId="score-curve" />
      <details open>
        <summary>Detection JSON</summary>
        <pre data-testid="event-json" tabIndex={0} aria-label="detection JSON">{JSON.stringify(ev.last, null, 2)}</pre>
      </details>
    </div>
  );
}

export function Timeline({ store, now }: { store: LiveStore; now: number }) {
  const [range, setRange] = useState(RANGES[0]![1]);
  const [selected, setSelected] = useState<string>();
  const from = now - range;
  const cameras = [...store.cameras.keys()].sort();
  const events = [...store.events.values()].filter((e) => (e.end ?? now) >= from);
  const chosen = selected === undefined ? undefined : store.events.get(selected);
  return (
    <section aria-labelledby="timeline-title" data-testid="timeline">
      <div class="section-head">
        <h2 id="timeline-title">Timeline</h2>
        <label>
          Show the last{' '}
          <select value={range} onChange={(e) => setRange(Number((e.target as HTMLSelectElement).value))}>
            {RANGES.map(([name, ms]) => (
              <option key={ms} value={ms}>
                {name}
              </option>
            ))}
          </select>
        </label>
      </div>
      <div class="timeline">
        {cameras.map((cam) => {
          const placed = lanes(events.filter((e) => e.camera === cam), now);
          const height = Math.max(1, ...placed.map(([, l]) => l + 1)) * LANE_REM + 0.3;
          return (
            <div class="timeline-row" key={cam}>
              <span class="timeline-camera">{cam}</span>
              <div class="track" role="group" aria-label={`events of camera ${cam}`} style={{ height: `${height}rem` }}>
                {placed.map(([e, lane]) => (
                  <Bar key={e.key} ev={e} lane={lane} from={from} span={range} now={now} selected={e.key === selected} onOpen={() => setSelected(e.key)} />
                ))}
              </div>
            </div>
          );
        })}
        <div class="timeline-axis muted" aria-hidden="true">
          <span>{clock(from)}</span>
          <span>now</span>
        </div>
      </div>
      {events.length === 0 && <p class="muted">No events yet: they appear here as the cameras report them.</p>}
      {chosen !== undefined && <EventDetail store={store} ev={chosen} />}
    </section>
  );
}
