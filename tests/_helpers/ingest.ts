/**
 * The worker's batch processing as tests call it: the options `convo work` gives
 * `processBatch` (region US, snippets of 120, 3 attempts, a fixed backoff), and one
 * claim-and-process round.
 *
 * @module
 */
import type { Sql } from "../../src/db/connect.ts";
import { KeyRing } from "../../src/dedup/keys.ts";
import { createRouter } from "../../src/endpoints/route.ts";
import { processBatch, type ProcessOptions } from "../../src/ingest/process.ts";
import { createLogger } from "../../src/log/logger.ts";
import { claimEvents } from "../../src/queue/claim.ts";
import type { BatchResult } from "../../src/queue/types.ts";

const quiet = createLogger({ level: "error", format: "json", write: () => {} });

/** Ingest options for tests; `over` replaces any of them (a logger, a cache…). */
export function ingestOptions(sql: Sql, over: Partial<ProcessOptions> = {}): ProcessOptions {
  return {
    region: "US",
    snippetLength: 120,
    maxAttempts: 3,
    backoff: { baseMs: 1000, random: () => 0.5 },
    router: createRouter(sql),
    keys: new KeyRing(sql),
    logger: quiet,
    ...over,
  };
}

/** Claims up to 100 events (a minute's claim) and processes them as one batch. */
export async function drainBatch(
  sql: Sql,
  over: Partial<ProcessOptions> = {},
): Promise<BatchResult> {
  return await processBatch(sql, await claimEvents(sql, 100, 60_000), ingestOptions(sql, over));
}
