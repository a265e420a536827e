// The Prometheus text format read by a parser that is not ours: Python prometheus_client's, from the
// venv scripts/setup-test-infra.sh installs (version pinned in scripts/infra-versions.env).
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { INSTALL_HINT, cacheDir, infraVersionVars } from '../../harness/processes.js';

export interface ParsedFamily {
  readonly name: string;
  readonly type: string;
  readonly samples: ReadonlyArray<{ readonly name: string; readonly labels: Record<string, string>; readonly value: number }>;
}

function python(): string {
  const version = infraVersionVars().vars.get('PROMETHEUS_CLIENT_VERSION');
  const bin = join(cacheDir(), 'prometheus-client', version ?? 'unset', 'venv', 'bin', 'python');
  if (!existsSync(bin)) throw new Error(`prometheus_client ${version} not found at ${bin}: ${INSTALL_HINT}`);
  return bin;
}

const SCRIPT = `
import json, math, sys
from prometheus_client.parser import text_string_to_metric_families
out = []
for f in text_string_to_metric_families(sys.stdin.read()):
    out.append({"name": f.name, "type": f.type, "samples": [{"name": s.name, "labels": s.labels, "value": s.value if math.isfinite(s.value) else str(s.value)} for s in f.samples]})
print(json.dumps(out))
`;

/** Parses an exposition; rejects with the parser's error when the text is not valid. */
export function parseExposition(text: string): Promise<ParsedFamily[]> {
  return new Promise((resolve, reject) => {
    const child = execFile(python(), ['-c', SCRIPT], { maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`prometheus_client could not parse the exposition: ${stderr || err.message}`));
      else resolve(JSON.parse(stdout) as ParsedFamily[]);
    });
    child.stdin!.end(text);
  });
}
