/**
 * `convo backfill-conversations`: gives legacy messages (no conversation yet)
 * the conversation ingest would have given them; `--recount` repairs
 * conversation counters from the messages.
 *
 * @module
 */
import { Command } from "@commander-js/extra-typings";
import { backfillConversations, type BackfillResult } from "../backfill/backfill.ts";
import { createProgressReporter } from "../backfill/progress.ts";
import { repairCounters, type RepairResult } from "../backfill/repair.ts";
import { resolveCustomer } from "../customers/resolve.ts";
import { withDatabase } from "../db/connect.ts";
import { formatDuration } from "../duration.ts";
import { ConvoError } from "../errors.ts";
import { parseIntOption } from "./_options.ts";
import type { Context } from "./context.ts";

const rate = (n: number, ms: number) => (ms > 0 ? Math.round(n / (ms / 1000)) : 0);

function backfillSummary(r: BackfillResult): string {
  const verb = r.dryRun ? "dry run: would assign" : "assigned";
  const create = r.dryRun ? "to create" : "created";
  return `${verb} ${r.assigned} of ${r.scanned} legacy message(s); conversations ${create} ` +
    `${r.conversationsCreated}, reused ${r.conversationsReused}; contacts ${create} ` +
    `${r.contactsCreated}; unassignable ${r.unassignable}; in ${formatDuration(r.elapsedMs)} ` +
    `(${rate(r.scanned, r.elapsedMs)} messages/s)\n`;
}

function backfillJson(r: BackfillResult): string {
  return JSON.stringify({
    dry_run: r.dryRun,
    legacy_at_start: r.total,
    scanned: r.scanned,
    assigned: r.assigned,
    conversations_created: r.conversationsCreated,
    conversations_reused: r.conversationsReused,
    contacts_created: r.contactsCreated,
    unassignable: r.unassignable,
    unassignable_samples: r.unassignableSamples.map((u) => ({
      message_id: u.messageId.toString(),
      reason: u.reason,
    })),
    batches: r.batches,
    elapsed_ms: Math.round(r.elapsedMs),
    messages_per_second: rate(r.scanned, r.elapsedMs),
    interrupted: r.interrupted,
  }) + "\n";
}

function repairSummary(r: RepairResult): string {
  return `recounted ${r.recounted} conversation(s), repaired ${r.repaired}; in ` +
    `${formatDuration(r.elapsedMs)} (${rate(r.recounted, r.elapsedMs)} conversations/s)\n`;
}

function repairJson(r: RepairResult): string {
  return JSON.stringify({
    recounted: r.recounted,
    repaired: r.repaired,
    elapsed_ms: Math.round(r.elapsedMs),
    conversations_per_second: rate(r.recounted, r.elapsedMs),
    interrupted: r.interrupted,
  }) + "\n";
}

/** Builds `convo backfill-conversations`. */
export function backfillConversationsCommand(ctx: Context): Command {
  return new Command("backfill-conversations")
    .description(
      "Give legacy messages (no conversation) the conversation ingest would have given them, " +
        "in keyset-ordered batches; idempotent, resumable, safe while workers run",
    )
    .option(
      "--batch-size <n>",
      "messages (or, with --recount, conversations) per transaction",
      "5000",
    )
    .option("--dry-run", "report what would be created and assigned; change nothing")
    .option("--customer <id|name>", "only this customer (all digits: an id; else a name)")
    .option("--recount", "recompute every conversation's counters and snippet from its messages")
    .option("--json", "print the summary as one JSON object")
    .action(async (opts) => {
      const batchSize = parseIntOption("--batch-size", opts.batchSize, { min: 1, max: 100_000 });
      const config = ctx.config();
      const logger = ctx.logger();
      const signal = ctx.shutdownSignal();
      await withDatabase(
        config,
        logger,
        { command: "backfill-conversations", max: 3 },
        async (db) => {
          const customer = opts.customer === undefined
            ? undefined
            : await resolveCustomer(db.sql, opts.customer);
          const progress = createProgressReporter({
            terminal: ctx.io.stderrIsTerminal,
            write: (t) => ctx.io.stderr(t),
            logger,
            unit: opts.recount ? "conv" : "msg",
          });
          let interrupted: boolean;
          if (opts.recount) {
            const r = await repairCounters(db.sql, {
              batchSize,
              customerId: customer?.id,
              snippetLength: config.snippetLength,
              signal,
              onProgress: (p) => progress.update(p),
            });
            progress.done();
            ctx.io.stdout(opts.json ? repairJson(r) : repairSummary(r));
            interrupted = r.interrupted;
          } else {
            const r = await backfillConversations(db.sql, {
              batchSize,
              customerId: customer?.id,
              dryRun: !!opts.dryRun,
              snippetLength: config.snippetLength,
              signal,
              logger,
              onProgress: (p) => progress.update(p),
            });
            progress.done();
            ctx.io.stdout(opts.json ? backfillJson(r) : backfillSummary(r));
            interrupted = r.interrupted;
          }
          if (interrupted) {
            throw new ConvoError("interrupted by a signal after the last whole batch", {
              hint: "run the same command again to resume where it stopped",
            });
          }
        },
      );
    });
}
