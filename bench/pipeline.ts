/**
 * `npm run bench:pipeline`: the live stages in one process (bench/pipeline-single.ts), or with
 * `--fleet` the scale-out roles over a real broker (bench/pipeline-fleet.ts).
 */
if (process.argv.includes('--fleet')) await import('./pipeline-fleet.js');
else await import('./pipeline-single.js');
