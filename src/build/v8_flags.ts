/**
 * V8 heap settings convo is built and benchmarked with. V8 sizes its heap
 * from the configured limit: with the default (a quarter of RAM) a worker
 * draining 20 000 events peaked at 249 MB RSS while its live heap stayed near
 * 30 MB; with these, 130 MB at the same speed. 512 MB of old space does not
 * hold worst-case batches by rows alone (500 events at the 256 KiB cap are
 * 128 MB of JSON, about 4× that in heap, and a loop holds two batches), so
 * `convo work` also caps a claim by payload bytes to what fits this heap
 * (`src/ingest/memory.ts`: 16 MiB per batch at concurrency 1).
 *
 * @module
 */

/** Passed to `deno compile --v8-flags`; use as `DENO_V8_FLAGS` for the bundle. */
export const V8_FLAGS = "--max-old-space-size=512,--max-semi-space-size=2";
