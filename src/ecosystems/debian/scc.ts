/**
 * Strongly connected components of a directed graph in compressed sparse
 * row form, by Tarjan's algorithm run with an explicit stack so that a
 * dependency chain tens of thousands of packages long cannot overflow the
 * JavaScript call stack.
 */

/** A directed graph on vertices `0..n-1`: the successors of `v` are `targets[start[v] .. start[v+1]-1]`. */
export interface CsrGraph {
  /** Length n+1, non-decreasing, `start[0] === 0`. */
  start: Int32Array;
  /** Successor vertices, each in `0..n-1`. */
  targets: Int32Array;
}

/** The components, each a list of vertices, and each vertex's component number. */
export interface Components {
  /**
   * Components in reverse topological order: every edge leaving a
   * component points into one listed earlier. With edges pointing from a
   * package to its dependencies, dependencies therefore come first.
   */
  list: number[][];
  /** `of[v]` is the index in `list` of v's component. */
  of: Int32Array;
}

/**
 * Find the strongly connected components of `graph`. O(vertices + edges)
 * time and memory.
 */
export function stronglyConnectedComponents(graph: CsrGraph): Components {
  const n = graph.start.length - 1;
  const { start, targets } = graph;
  const index = new Int32Array(n).fill(-1);
  const low = new Int32Array(n);
  const onStack = new Uint8Array(n);
  const stack = new Int32Array(n);
  const callVertex = new Int32Array(n);
  const callEdge = new Int32Array(n);
  const of = new Int32Array(n);
  const list: number[][] = [];
  let counter = 0;
  let sp = 0;
  let csp = 0;

  const enter = (v: number) => {
    index[v] = low[v] = counter++;
    stack[sp++] = v;
    onStack[v] = 1;
    callVertex[csp] = v;
    callEdge[csp] = start[v]!;
    csp++;
  };

  for (let root = 0; root < n; root++) {
    if (index[root] !== -1) continue;
    enter(root);
    while (csp > 0) {
      const v = callVertex[csp - 1]!;
      const e = callEdge[csp - 1]!;
      if (e < start[v + 1]!) {
        callEdge[csp - 1] = e + 1;
        const w = targets[e]!;
        if (index[w] === -1) enter(w);
        else if (onStack[w] && index[w]! < low[v]!) low[v] = index[w]!;
        continue;
      }
      csp--;
      if (csp > 0) {
        const parent = callVertex[csp - 1]!;
        if (low[v]! < low[parent]!) low[parent] = low[v]!;
      }
      if (low[v] === index[v]) {
        const comp: number[] = [];
        let w: number;
        do {
          w = stack[--sp]!;
          onStack[w] = 0;
          of[w] = list.length;
          comp.push(w);
        } while (w !== v);
        list.push(comp);
      }
    }
  }
  return { list, of };
}

/**
 * Build a CSR graph from per-vertex successor lists produced by `each`.
 * @param n number of vertices.
 * @param each calls `add(w)` for every successor w of v.
 */
export function buildCsr(n: number, each: (v: number, add: (w: number) => void) => void): CsrGraph {
  const start = new Int32Array(n + 1);
  let targets = new Int32Array(Math.max(16, n * 4));
  let m = 0;
  for (let v = 0; v < n; v++) {
    start[v] = m;
    each(v, (w) => {
      if (m === targets.length) {
        const grown = new Int32Array(targets.length * 2);
        grown.set(targets);
        targets = grown;
      }
      targets[m++] = w;
    });
  }
  start[n] = m;
  return { start, targets: targets.subarray(0, m) };
}

/** The same graph with every edge reversed. */
export function reverseCsr(graph: CsrGraph): CsrGraph {
  const n = graph.start.length - 1;
  const count = new Int32Array(n + 1);
  for (const w of graph.targets) count[w + 1]!++;
  for (let v = 0; v < n; v++) count[v + 1]! += count[v]!;
  const start = count.slice();
  const fill = count.slice(0, n);
  const targets = new Int32Array(graph.targets.length);
  for (let v = 0; v < n; v++) {
    for (let e = graph.start[v]!; e < graph.start[v + 1]!; e++) targets[fill[graph.targets[e]!]!++] = v;
  }
  return { start, targets };
}
