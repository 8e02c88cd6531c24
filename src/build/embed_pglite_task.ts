/**
 * `deno task embed-pglite`: copies the files PGlite reads at startup from the
 * installed `@electric-sql/pglite` package into `src/db/_pglite/`, gzipped, so
 * `src/db/_pglite_assets.ts` can import them as bytes and every form of convo
 * (source, bundle, binary) carries the embedded database.
 *
 * Run it after changing PGlite's version in deno.json; a test fails until then
 * (tests/db/pglite_assets_test.ts).
 *
 * Why a copy: Deno cannot import a file of an npm package that the package's
 * `exports` do not list ("ERR_PACKAGE_PATH_NOT_EXPORTED" for
 * `npm:@electric-sql/pglite/dist/pglite.wasm`), and PGlite lists none of these.
 *
 * @module
 */

/** Where the copies live, relative to the project root. */
export const PGLITE_ASSET_DIR = "src/db/_pglite";

/**
 * The files PGlite 0.5 reads at startup (`new URL("./…", import.meta.url)` in
 * its dist/): the PostgreSQL WebAssembly, its file-system bundle (share/,
 * lib/ with plpgsql, timezone data) and initdb's WebAssembly, used when the
 * data directory is new.
 */
export const PGLITE_ASSET_NAMES = ["pglite.wasm", "pglite.data", "initdb.wasm"] as const;

/** The installed package's dist/ directory (in DENO_DIR's npm cache). */
export function pgliteDistUrl(): URL {
  return new URL("./", import.meta.resolve("@electric-sql/pglite"));
}

async function gzip(bytes: Uint8Array<ArrayBuffer>): Promise<Uint8Array> {
  const stream = new Blob([bytes]).stream().pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

async function gunzip(bytes: Uint8Array<ArrayBuffer>): Promise<Uint8Array> {
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

function same(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

if (import.meta.main) {
  const root = new URL("../../", import.meta.url);
  const dir = new URL(`${PGLITE_ASSET_DIR}/`, root);
  await Deno.mkdir(dir, { recursive: true });
  for (const name of PGLITE_ASSET_NAMES) {
    const source = await Deno.readFile(new URL(name, pgliteDistUrl()));
    const target = new URL(`${name}.gz`, dir);
    const before = await Deno.readFile(target).catch(() => undefined);
    // Rewriting identical content would only churn git: compare what it holds.
    if (before && same(await gunzip(before), source)) {
      console.log(`${PGLITE_ASSET_DIR}/${name}.gz is up to date`);
      continue;
    }
    const packed = await gzip(source);
    await Deno.writeFile(target, packed);
    console.log(
      `wrote ${PGLITE_ASSET_DIR}/${name}.gz (${source.length} bytes, ${packed.length} gzipped)`,
    );
  }
}
