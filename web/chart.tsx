/** A small uPlot line chart that follows its data: made once per set of series, then only fed new points. */
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';

export interface ChartProps {
  /** Read by screen readers instead of the canvas. */
  readonly title: string;
  /** x (seconds since epoch) first, then one array per series. */
  readonly data: ReadonlyArray<ReadonlyArray<number | null>>;
  readonly series: readonly string[];
  readonly height?: number;
  readonly yRange?: [number, number];
  readonly testId?: string;
}

const COLOURS = ['#1f6feb', '#c2410c', '#15803d', '#7e22ce', '#b91c1c', '#0e7490', '#a16207', '#be185d'];

export function Chart({ title, data, series, height = 120, yRange, testId }: ChartProps) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const key = series.join('\u0000');

  useEffect(() => {
    const el = box.current!;
    const opts: uPlot.Options = {
      width: Math.max(200, el.clientWidth),
      height,
      legend: { show: series.length > 1 },
      scales: { x: { time: true }, ...(yRange === undefined ? {} : { y: { range: yRange } }) },
      series: [{}, ...series.map((label, i) => ({ label, stroke: COLOURS[i % COLOURS.length], width: 2, spanGaps: false }))],
      axes: [{ size: 30 }, { size: 40 }],
    };
    const u = new uPlot(opts, data as uPlot.AlignedData, el);
    plot.current = u;
    const resize = new ResizeObserver(() => u.setSize({ width: Math.max(200, el.clientWidth), height }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      u.destroy();
      plot.current = null;
    };
  }, [key, height]);

  useEffect(() => {
    plot.current?.setData(data as uPlot.AlignedData);
  }, [data]);

  return <div class="chart" ref={box} role="img" aria-label={title} data-testid={testId} />;
}
