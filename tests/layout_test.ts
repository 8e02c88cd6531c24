/**
 * The import graph of `src/`: no cycles, and no module importing from a layer above its own
 * (README "Layout" describes the folders; this file is where their order is written down).
 *
 * Imports are read from the text: static `import`/`export … from` statements at the start of
 * a line (so the examples inside doc comments, which start with ` * `, are not taken for
 * imports) and dynamic `import("./…")` outside comments. Only relative `.ts` imports inside
 * `src/` count; packages and the migration files are not ours to layer.
 */
import assert from "node:assert/strict";

const SRC = new URL("../src/", import.meta.url);
const README = new URL("../README.md", import.meta.url);

/**
 * The layers, lowest first: a unit (a folder of `src/`, or a file at its top) imports only
 * from its own unit and from units of lower layers, never from its layer or one above.
 */
const LAYERS: readonly (readonly string[])[] = [
  // Leaves: small helpers every layer may use; they import nothing of ours.
  ["errors.ts", "duration.ts", "utf8.ts", "bom.ts", "lru.ts", "opaque.ts"],
  // Pure rules (normalization) and the logger.
  ["normalize", "log"],
  // What an event is (schemas, envelope lines, provider adapters: pure) and the settings.
  ["events", "config.ts"],
  // The one place a connection is made.
  ["db"],
  // `--customer ID|NAME`, looked up by the overview and the backfill.
  ["customers"],
  // The database's own concerns: the queue and its statements, migrations, the dedup writer.
  ["queue", "migrate", "dedup"],
  // Our numbers and mailboxes, and the routing ingest looks them up by.
  ["endpoints"],
  // Conversation rows (which side of a message is ours comes from the routes), and the
  // read-only overview.
  ["conversations", "overview"],
  // A batch of events to rows, and `startWork()`.
  ["ingest"],
  // Legacy rows through ingest's rules; `convo check`.
  ["backfill", "health"],
  // The commands, and the build tasks.
  ["cli", "build"],
];

const RANK = new Map(LAYERS.flatMap((units, rank) => units.map((u) => [u, rank] as const)));

/** `import … from "x"`, `export … from "x"`, `import "x"`, each at the start of a line. */
const STATIC = /^(?:import|export)\b[^;"']*?\bfrom\s*["']([^"']+)["']|^import\s*["']([^"']+)["']/gm;
const DYNAMIC = /\bimport\(\s*["']([^"']+)["']\s*\)/g;

/** The module specifiers a source file imports. */
function parseImports(source: string): string[] {
  const specifiers = [...source.matchAll(STATIC)].map((m) => m[1] ?? m[2]);
  for (const line of source.split("\n")) {
    const code = line.trimStart();
    if (code.startsWith("*") || code.startsWith("//") || code.startsWith("/*")) continue;
    for (const m of line.matchAll(DYNAMIC)) specifiers.push(m[1]);
  }
  return specifiers;
}

/** Every `.ts` file under `src/`, as a path relative to it (`queue/enqueue.ts`). */
function sourceFiles(dir = SRC, prefix = ""): string[] {
  const files: string[] = [];
  for (const entry of Deno.readDirSync(dir)) {
    if (entry.isDirectory) {
      files.push(...sourceFiles(new URL(`${entry.name}/`, dir), `${prefix}${entry.name}/`));
    } else if (entry.isFile && entry.name.endsWith(".ts")) {
      files.push(prefix + entry.name);
    }
  }
  return files.sort();
}

/** File → the files of `src/` it imports. */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of sourceFiles()) {
    const url = new URL(file, SRC);
    const targets = parseImports(Deno.readTextFileSync(url))
      .filter((s) => s.startsWith(".") && s.endsWith(".ts"))
      .map((s) => new URL(s, url).href)
      .filter((href) => href.startsWith(SRC.href))
      .map((href) => decodeURIComponent(href.slice(SRC.href.length)));
    graph.set(file, [...new Set(targets)]);
  }
  return graph;
}

/** The unit a file belongs to: its folder under `src/`, or itself at the top. */
function unitOf(file: string): string {
  const slash = file.indexOf("/");
  return slash === -1 ? file : file.slice(0, slash);
}

/** The cycles of a graph, one per strongly connected component of two or more files (or a self-import). */
function cycles(graph: Map<string, string[]>): string[][] {
  // Tarjan's algorithm, recursive: the graph has about a hundred nodes.
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string) => {
    index.set(v, index.size);
    low.set(v, index.get(v)!);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || (graph.get(v) ?? []).includes(v)) found.push(component.sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return found;
}

Deno.test("parseImports() reads static, type-only, re-export, side-effect and dynamic imports, not doc examples", () => {
  const source = [
    "/**",
    " * @example Usage",
    " * ```ts",
    ' * import { example } from "./example.ts";',
    " * ```",
    " */",
    'import { a } from "./a.ts";',
    "import type {",
    "  B,",
    "  C,",
    '} from "../b.ts";',
    'export { d } from "./d.ts";',
    'export * from "./e.ts";',
    'import "./f.ts";',
    'import x from "../../migrations/1.sql" with { type: "bytes" };',
    'const g = await import("./g.ts");',
    '// const h = await import("./h.ts");',
    "const text = `",
    '  import i from "./i.ts";',
    "`;",
  ].join("\n");
  assert.deepEqual(parseImports(source), [
    "./a.ts",
    "../b.ts",
    "./d.ts",
    "./e.ts",
    "./f.ts",
    "../../migrations/1.sql",
    "./g.ts",
  ]);
});

Deno.test("cycles() finds a cycle and a self-import, and nothing in a tree", () => {
  const graph = new Map([
    ["a.ts", ["b.ts"]],
    ["b.ts", ["c.ts"]],
    ["c.ts", ["a.ts", "d.ts"]],
    ["d.ts", ["d.ts"]],
    ["e.ts", ["a.ts"]],
  ]);
  assert.deepEqual(cycles(graph).sort(), [["a.ts", "b.ts", "c.ts"], ["d.ts"]]);
  assert.deepEqual(cycles(new Map([["a.ts", ["b.ts"]], ["b.ts", []]])), []);
});

Deno.test("src/ imports form no cycle", () => {
  const graph = importGraph();
  assert.ok(graph.size > 50, `only ${graph.size} files read`);
  assert.ok(graph.get("cli/program.ts")!.length > 0, "cli/program.ts imports nothing?");
  assert.deepEqual(cycles(graph), []);
});

Deno.test("src/ units each have a layer, and import only from lower layers", () => {
  const graph = importGraph();
  const unplaced = [...new Set([...graph.keys()].map(unitOf))].filter((u) => !RANK.has(u));
  assert.deepEqual(unplaced, [], "give each new folder of src/ a layer in tests/layout_test.ts");
  const upward: string[] = [];
  for (const [file, targets] of graph) {
    for (const target of targets) {
      const from = unitOf(file);
      const to = unitOf(target);
      if (from !== to && RANK.get(to)! >= RANK.get(from)!) upward.push(`${file} → ${target}`);
    }
  }
  assert.deepEqual(upward, []);
});

Deno.test("src/ layers keep the named rules: normalize and events pure, queue below ingest", () => {
  const below = (a: string, b: string) => RANK.get(a)! < RANK.get(b)!;
  for (const pure of ["normalize", "events"]) {
    for (const above of ["db", "queue", "ingest", "cli"]) assert.ok(below(pure, above));
  }
  assert.ok(below("queue", "ingest"));
  assert.ok(below("endpoints", "cli") && below("ingest", "cli"));
});

Deno.test("README Layout names every folder of src/", () => {
  const readme = Deno.readTextFileSync(README);
  const layout = readme.slice(readme.indexOf("## Layout"));
  const section = layout.slice(0, layout.indexOf("\n## ", 1));
  const folders = [...Deno.readDirSync(SRC)].filter((e) => e.isDirectory).map((e) => e.name);
  const missing = folders.filter((f) => !section.includes(`\`src/${f}/`));
  assert.deepEqual(missing, []);
});
