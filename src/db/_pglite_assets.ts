/**
 * PGlite's runtime files, carried inside the program as bytes so the embedded
 * database starts from the bundle (`dist/convo.js`) and the binary exactly as
 * from source, reading nothing from node_modules or DENO_DIR.
 *
 * Without these options PGlite reads `pglite.wasm`, `pglite.data` and
 * `initdb.wasm` next to its own module (`new URL("./pglite.wasm",
 * import.meta.url)`): in the npm cache when run from source, beside
 * `dist/convo.js` when bundled, where they are not.
 *
 * The files are gzipped copies written by `deno task embed-pglite`
 * (src/build/embed_pglite_task.ts); tests/db/pglite_assets_test.ts fails when
 * they differ from the installed PGlite. Gzip: 15.6 MB → 5.6 MB in the
 * repository and the bundle (base64 there), for about 150 ms of
 * decompression per start.
 *
 * @module
 */
import initdbWasm from "./_pglite/initdb.wasm.gz" with { type: "bytes" };
import pgliteData from "./_pglite/pglite.data.gz" with { type: "bytes" };
import pgliteWasm from "./_pglite/pglite.wasm.gz" with { type: "bytes" };

/** The gzipped files, by their name in PGlite's dist/. */
const PACKED = {
  "pglite.wasm": pgliteWasm,
  "pglite.data": pgliteData,
  "initdb.wasm": initdbWasm,
} as const;

/** A file PGlite reads at startup. */
export type PgliteAssetName = keyof typeof PACKED;

/** The options of `PGlite.create` that replace every file it would read. */
export interface PgliteAssetOptions {
  /** Compiled `pglite.wasm`. */
  pgliteWasmModule: WebAssembly.Module;
  /** Compiled `initdb.wasm` (run when the data directory is new). */
  initdbWasmModule: WebAssembly.Module;
  /** `pglite.data`: PostgreSQL's share/ and lib/ as Emscripten's file package. */
  fsBundle: Blob;
}

async function gunzip(bytes: Uint8Array<ArrayBuffer>): Promise<Uint8Array<ArrayBuffer>> {
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** The embedded files, decompressed. */
export async function pgliteAssetBytes(): Promise<
  Record<PgliteAssetName, Uint8Array<ArrayBuffer>>
> {
  const names = Object.keys(PACKED) as PgliteAssetName[];
  const bytes = await Promise.all(names.map((name) => gunzip(PACKED[name])));
  return Object.fromEntries(names.map((name, i) => [name, bytes[i]])) as Record<
    PgliteAssetName,
    Uint8Array<ArrayBuffer>
  >;
}

/** Decompresses and compiles the embedded files into `PGlite.create` options. */
export async function loadPgliteAssets(): Promise<PgliteAssetOptions> {
  const files = await pgliteAssetBytes();
  const [pgliteWasmModule, initdbWasmModule] = await Promise.all([
    WebAssembly.compile(files["pglite.wasm"]),
    WebAssembly.compile(files["initdb.wasm"]),
  ]);
  return { pgliteWasmModule, initdbWasmModule, fsBundle: new Blob([files["pglite.data"]]) };
}
