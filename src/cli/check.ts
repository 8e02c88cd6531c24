/**
 * `convo check [--max-queue-age D] [--max-dead N] [--json]`: database, schema,
 * endpoints and queue health in one command, one line per check; exit 0 when
 * all pass, 1 when any fails. For deploys, readiness probes and cron alerts.
 *
 * @module
 */
import { Command } from "@commander-js/extra-typings";
import { ConvoError, ExitCode } from "../errors.ts";
import { type CheckResult, runChecks } from "../health/check.ts";
import { embeddedMigrations } from "../migrate/embedded.ts";
import { parseDurationOption, parseIntOption } from "./_options.ts";
import type { Context } from "./context.ts";

/** Default `--max-queue-age`: an event waiting longer means no worker keeps up. */
export const DEFAULT_MAX_QUEUE_AGE = "15m";

function line(r: CheckResult): string {
  const tag = r.status === "ok" ? "ok" : r.status === "fail" ? "FAIL" : "skip";
  return `${tag.padEnd(4)} ${r.name.padEnd(10)} ${r.detail}\n`;
}

/** Builds `convo check`. */
export function checkCommand(ctx: Context): Command {
  return new Command("check")
    .summary("Check database, schema, endpoints and queue health (probes, deploys, alerts)")
    .description(
      "Check that the database is reachable, its schema is at this program's version (nothing " +
        "pending, no drift), endpoints are mapped, the oldest claimable pending event is younger " +
        "than --max-queue-age and no more than --max-dead events are dead. One line per check; " +
        "exit 0 when all pass, 1 when any fails.",
    )
    .option(
      "--max-queue-age <duration>",
      "fail when the oldest claimable pending event is older (0: no limit)",
      DEFAULT_MAX_QUEUE_AGE,
    )
    .option("--max-dead <n>", "fail when more events than this are dead (default: no limit)")
    .option("--json", 'print one JSON object: {"ok": …, "checks": [{name, status, detail, …}]}')
    .action(async (opts) => {
      const ageMs = parseDurationOption("--max-queue-age", opts.maxQueueAge);
      const maxDead = opts.maxDead === undefined
        ? undefined
        : parseIntOption("--max-dead", opts.maxDead, { min: 0 });
      let migrations;
      try {
        migrations = await embeddedMigrations();
      } catch (err) {
        throw new ConvoError(`the embedded migrations are broken: ${(err as Error).message}`, {
          cause: err,
        });
      }
      const results = await runChecks(ctx.config(), ctx.logger(), {
        migrations,
        maxQueueAgeMs: ageMs === 0 ? undefined : ageMs,
        maxDead,
      });
      const ok = results.every((r) => r.status === "ok");
      if (opts.json) {
        ctx.io.stdout(JSON.stringify({ ok, checks: results }) + "\n");
      } else {
        ctx.io.stdout(results.map(line).join(""));
      }
      if (!ok) ctx.exitCode = ExitCode.Failed;
    });
}
