/**
 * Arrows point down: the model layer (and the head registry it reads) loads no engine code, and
 * src/ has no import cycles. Imports are read with the TypeScript parser, type-only ones marked.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../support/fixtures.js';

type Kind = 'runtime' | 'type';
interface Edge {
  readonly target: string;
  readonly kind: Kind;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? sourceFiles(p) : p.endsWith('.ts') ? [p] : [];
  });
}

function isTypeOnly(n: ts.ImportDeclaration): boolean {
  const c = n.importClause;
  if (c === undefined) return false;
  if (c.isTypeOnly) return true;
  const b = c.namedBindings;
  return c.name === undefined && b !== undefined && ts.isNamedImports(b) && b.elements.length > 0 && b.elements.every((e) => e.isTypeOnly);
}

/** Imports of one file; relative targets as repo paths, packages by name. */
function importsOf(file: string): Edge[] {
  const sf = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
  const out: Edge[] = [];
  const add = (spec: string, kind: Kind): void => {
    const target = spec.startsWith('.') ? path.relative(REPO_ROOT, path.resolve(path.dirname(file), spec)).replace(/\.js$/, '.ts') : spec;
    out.push({ target, kind });
  };
  const visit = (n: ts.Node): void => {
    if (ts.isImportDeclaration(n) && ts.isStringLiteral(n.moduleSpecifier)) add(n.moduleSpecifier.text, isTypeOnly(n) ? 'type' : 'runtime');
    else if (ts.isExportDeclaration(n) && n.moduleSpecifier !== undefined && ts.isStringLiteral(n.moduleSpecifier)) add(n.moduleSpecifier.text, n.isTypeOnly ? 'type' : 'runtime');
    else if (ts.isCallExpression(n) && n.expression.kind === ts.SyntaxKind.ImportKeyword && n.arguments.length > 0 && ts.isStringLiteral(n.arguments[0])) add(n.arguments[0].text, 'runtime');
    else if (ts.isImportTypeNode(n) && ts.isLiteralTypeNode(n.argument) && ts.isStringLiteral(n.argument.literal)) add(n.argument.literal.text, 'type');
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return out;
}

const graph = new Map(sourceFiles(path.join(REPO_ROOT, 'src')).map((f) => [path.relative(REPO_ROOT, f), importsOf(f)]));
const isEngine = (target: string): boolean => target.startsWith('src/engine/') || /^@tensorflow\/|^onnxruntime/.test(target);

describe('layering', () => {
  it('src/model imports nothing from the engines, not even types', () => {
    const bad = [...graph].flatMap(([f, edges]) => (f.startsWith('src/model/') ? edges.filter((e) => isEngine(e.target)).map((e) => `${f} -> ${e.target}`) : []));
    expect(bad).toEqual([]);
  });

  it('what src/model loads at run time (the head registry included) holds no engine code', () => {
    const seen = new Set<string>();
    const todo = [...graph.keys()].filter((f) => f.startsWith('src/model/'));
    while (todo.length > 0) {
      const f = todo.pop()!;
      if (seen.has(f)) continue;
      seen.add(f);
      for (const e of graph.get(f) ?? []) if (e.kind === 'runtime') todo.push(e.target);
    }
    expect(seen.has('src/heads/registry.ts')).toBe(true);
    expect([...seen].filter(isEngine)).toEqual([]);
  });

  it('src/ has no import cycles, type-only and dynamic imports included', () => {
    const state = new Map<string, 'open' | 'done'>();
    const stack: string[] = [];
    const cycles: string[] = [];
    const visit = (f: string): void => {
      state.set(f, 'open');
      stack.push(f);
      for (const { target } of graph.get(f) ?? []) {
        if (!graph.has(target)) continue;
        if (state.get(target) === 'open') cycles.push([...stack.slice(stack.indexOf(target)), target].join(' -> '));
        else if (!state.has(target)) visit(target);
      }
      stack.pop();
      state.set(f, 'done');
    };
    for (const f of graph.keys()) if (!state.has(f)) visit(f);
    expect(cycles).toEqual([]);
  });
});
