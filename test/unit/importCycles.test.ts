// No import cycles: every relative import of worker-service/, extension/ and shared/ (type-only
// and dynamic ones included: the compiler follows them too), read with the TypeScript
// compiler's own pre-processor. And the worker's layers point one way: jobs/ (what a job is,
// the rules every queue keeps) ← host/ (this host's slots and one job's run) ← queue/ (where
// jobs wait: embedded/, fleet/); queue/embedded/ and queue/fleet/ never import each other;
// identity/ (who may do what) asks the jobs through its own port, never importing queue/.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import ts from 'typescript';

const ROOTS = ['worker-service', 'extension', 'shared'];

type Graph = Map<string, string[]>;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = posix.join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(p);
    return /\.(ts|mts|cts)$/.test(e.name) && !e.name.endsWith('.d.ts') ? [p] : [];
  });
}

/** Each file's relative imports, resolved to the files they name (`./x.js` is `./x.ts`). */
function importGraph(cwd: string): Graph {
  const graph: Graph = new Map();
  for (const file of ROOTS.flatMap((r) => sourceFiles(r))) {
    const { importedFiles } = ts.preProcessFile(readFileSync(join(cwd, file), 'utf8'), true, true);
    const deps = importedFiles
      .map((i) => i.fileName)
      .filter((s) => s.startsWith('.'))
      .map((s) => posix.normalize(posix.join(posix.dirname(file), s)).replace(/\.(m|c)?js$/, '.$1ts'))
      .map((p) => (existsSync(p) ? p : `${p}.ts`))
      .filter((p) => existsSync(p));
    graph.set(file, [...new Set(deps)]);
  }
  return graph;
}

/** One cycle per strongly connected component (Tarjan), as a path that starts and ends at one node. */
export function findCycles(graph: Graph): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) !== index.get(v)) return;
    const component = new Set<string>();
    let w: string | undefined;
    do {
      w = stack.pop();
      if (w === undefined) break;
      onStack.delete(w);
      component.add(w);
    } while (w !== v);
    if (component.size > 1 || (graph.get(v) ?? []).includes(v)) cycles.push(pathBack(graph, v, component));
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return cycles;
}

/** The shortest path from `start` back to itself inside its component (breadth first). */
function pathBack(graph: Graph, start: string, component: Set<string>): string[] {
  const cameFrom = new Map<string, string>();
  const queue = [start];
  while (queue.length) {
    const v = queue.shift()!;
    for (const w of graph.get(v) ?? []) {
      if (!component.has(w)) continue;
      if (w === start) {
        const back: string[] = [];
        for (let at: string | undefined = v; at !== undefined && at !== start; at = cameFrom.get(at)) back.unshift(at);
        return [start, ...back, start];
      }
      if (!cameFrom.has(w)) {
        cameFrom.set(w, v);
        queue.push(w);
      }
    }
  }
  return [start, start];
}

describe('imports', () => {
  const graph = importGraph(process.cwd());

  it('the cycle finder names a cycle when there is one (and only then)', () => {
    const g: Graph = new Map([
      ['a', ['b']],
      ['b', ['c']],
      ['c', ['a', 'd']],
      ['d', []],
      ['e', ['e']],
    ]);
    assert.deepEqual(findCycles(g), [
      ['a', 'b', 'c', 'a'],
      ['e', 'e'],
    ]);
    assert.deepEqual(
      findCycles(
        new Map([
          ['a', ['b']],
          ['b', []],
        ]),
      ),
      [],
    );
  });

  it('reads the real tree (the graph is not empty, and an import is found)', () => {
    assert.ok(graph.size > 100, `only ${graph.size} files found`);
    assert.ok(graph.get('worker-service/app.ts')?.length, 'app.ts imports nothing?');
  });

  it('no module imports itself through others (worker-service/, extension/, shared/)', () => {
    const cycles = findCycles(graph);
    assert.deepEqual(
      cycles.map((c) => c.join(' → ')),
      [],
      'import cycles',
    );
  });

  it("the worker's layers point one way: jobs/ ← host/ ← queue/; the embedded queue and the fleet's apart; identity/ apart from both", () => {
    const layerOf = (f: string) => /^worker-service\/(jobs|host|identity|queue\/embedded|queue\/fleet|queue)\//.exec(f)?.[1];
    // What each layer may not import.
    const forbidden: Record<string, string[]> = {
      jobs: ['host', 'queue', 'queue/embedded', 'queue/fleet'],
      host: ['queue', 'queue/embedded', 'queue/fleet'],
      identity: ['host', 'queue', 'queue/embedded', 'queue/fleet'],
      'queue/embedded': ['queue/fleet'],
      'queue/fleet': ['queue/embedded'],
    };
    const wrong = [...graph].flatMap(([file, deps]) => {
      const from = layerOf(file);
      return from ? deps.filter((d) => forbidden[from]?.includes(layerOf(d) ?? '')).map((d) => `${file} → ${d}`) : [];
    });
    assert.deepEqual(wrong, [], 'imports against the layering');
  });
});
