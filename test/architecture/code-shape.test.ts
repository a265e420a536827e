// The shape rules of docs/architecture.md, checked on the source itself: arrows point down, stages
// and components stay small. A rule broken here is a design change to discuss, not a test to edit.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../support/fixtures.js';

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(path.join(REPO_ROOT, dir), { withFileTypes: true })) {
    const rel = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...filesUnder(rel));
    else if (e.name.endsWith('.ts')) out.push(rel);
  }
  return out;
}

const source = (file: string) => ts.createSourceFile(file, readFileSync(path.join(REPO_ROOT, file), 'utf8'), ts.ScriptTarget.ES2022, true);

/** Module specifiers a file imports (static, dynamic and `import('...')` types), resolved to repo paths. */
function importsOf(file: string): string[] {
  const sf = source(file);
  const specs: string[] = [];
  const visit = (n: ts.Node): void => {
    if ((ts.isImportDeclaration(n) || ts.isExportDeclaration(n)) && n.moduleSpecifier && ts.isStringLiteral(n.moduleSpecifier)) specs.push(n.moduleSpecifier.text);
    if (ts.isCallExpression(n) && n.expression.kind === ts.SyntaxKind.ImportKeyword && ts.isStringLiteral(n.arguments[0])) specs.push(n.arguments[0].text);
    if (ts.isImportTypeNode(n) && ts.isLiteralTypeNode(n.argument) && ts.isStringLiteral(n.argument.literal)) specs.push(n.argument.literal.text);
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return specs.map((s) => (s.startsWith('.') ? path.normalize(path.join(path.dirname(file), s)) : s));
}

interface FunctionSpan {
  readonly file: string;
  readonly name: string;
  readonly lines: number;
}

/** Every function with a body; an anonymous one is named after the nearest named function around it. */
function functionsOf(file: string): FunctionSpan[] {
  const sf = source(file);
  const out: FunctionSpan[] = [];
  const visit = (n: ts.Node, outer: string): void => {
    let name = outer;
    if (ts.isFunctionLike(n) && 'body' in n && n.body !== undefined) {
      const own = (n as ts.FunctionDeclaration).name?.getText();
      name = own ?? `${outer}/<anonymous>`;
      const lines = sf.getLineAndCharacterOfPosition(n.getEnd()).line - sf.getLineAndCharacterOfPosition(n.getStart()).line + 1;
      out.push({ file, name, lines });
    }
    ts.forEachChild(n, (c) => visit(c, name));
  };
  visit(sf, '');
  return out;
}

const SRC = filesUnder('src');
const PIPELINES = filesUnder('pipelines');

describe('code shape', () => {
  it('src/ never imports pipelines/ (but the CLI, the entry point that starts them)', () => {
    const up = SRC.filter((f) => !f.startsWith('src/cli/')).flatMap((f) => importsOf(f).filter((i) => i.startsWith('pipelines/')).map((i) => `${f} -> ${i}`));
    expect(up).toEqual([]);
  });

  it('the model layer imports no engine, tfjs or ONNX Runtime', () => {
    const engines = /^(src\/engine\/|@tensorflow\/|onnxruntime)/;
    const bad = SRC.filter((f) => f.startsWith('src/model/')).flatMap((f) => importsOf(f).filter((i) => engines.test(i)).map((i) => `${f} -> ${i}`));
    expect(bad).toEqual([]);
  });

  it('sources, sinks and stages report through instrumentation, never to the metrics registry', () => {
    const bad = SRC.filter((f) => /^src\/(sources|sinks|stages)\//.test(f)).flatMap((f) => importsOf(f).filter((i) => i.startsWith('src/observability/')).map((i) => `${f} -> ${i}`));
    expect(bad).toEqual([]);
  });

  it('sources spawn processes only through the one ffmpeg process module', () => {
    const bad = SRC.filter((f) => f.startsWith('src/sources/') && f !== 'src/sources/ffmpeg/process.ts').filter((f) => importsOf(f).includes('node:child_process'));
    expect(bad).toEqual([]);
  });

  it('nothing outside test/ imports test/: benchmarks share the loopback servers through harness/', () => {
    const shipped = ['src', 'pipelines', 'config', 'bench', 'harness'].flatMap(filesUnder);
    const bad = shipped.flatMap((f) => importsOf(f).filter((i) => i.startsWith('test/')).map((i) => `${f} -> ${i}`));
    expect(shipped.length).toBeGreaterThan(SRC.length);
    expect(bad).toEqual([]);
  });

  it('pipelines are compositions: each file under 120 lines', () => {
    const long = PIPELINES.map((f) => ({ f, n: readFileSync(path.join(REPO_ROOT, f), 'utf8').split('\n').length })).filter((x) => x.n >= 120);
    expect(long).toEqual([]);
  });

  it('no function over 100 lines, outside the pickle VM', () => {
    const all = [...SRC, ...PIPELINES]
      .filter((f) => !f.endsWith('weights/unpickler.ts'))
      .flatMap(functionsOf)
      .filter((s) => s.lines > 100)
      .map((s) => `${s.file} ${s.name} (${s.lines} lines)`);
    expect(all).toEqual([]);
  });
});
