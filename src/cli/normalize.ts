/**
 * `convo normalize email|phone|body|key VALUE…`: shows the normalized form of a
 * value and its 64-bit key, so an operator can see why two messages did or did
 * not land in the same conversation. Pure computation: no database.
 *
 * @module
 */
import { Argument, Command, Option } from "@commander-js/extra-typings";
import { UsageError } from "../errors.ts";
import { CHANNELS, normalizeAddress } from "../normalize/address.ts";
import { normalizeBody } from "../normalize/body.ts";
import { conversationKey } from "../normalize/conversation_key.ts";
import { normalizeEmail } from "../normalize/email.ts";
import { hash64, hashHex } from "../normalize/hash.ts";
import { normalizePhone } from "../normalize/phone.ts";
import { formatGrid } from "./_format.ts";
import { parseRegionOption } from "./_options.ts";
import type { Context } from "./context.ts";

interface Flags {
  region?: string;
  json?: boolean;
}

/** One normalized value: a table row and a JSON object. */
interface Row {
  cells: string[];
  json: Record<string, unknown>;
}

/** A value as typed, quoted when whitespace or control characters would hide in it. */
function show(value: string): string {
  // deno-lint-ignore no-control-regex
  return /[\x00-\x1f\x7f]|^\s|\s$|^$/.test(value) ? JSON.stringify(value) : value;
}

function keyFields(key: bigint | undefined): { key: string | null; key_hex: string | null } {
  return key === undefined
    ? { key: null, key_hex: null }
    : { key: key.toString(), key_hex: hashHex(key) };
}

function keyCells(key: bigint | undefined): string[] {
  return key === undefined ? ["-", "-"] : [key.toString(), hashHex(key)];
}

/** The phone region: --region, else the configured default (checked by the config). */
function region(ctx: Context, flags: Flags): string {
  return flags.region === undefined
    ? ctx.config().defaultRegion
    : parseRegionOption("--region", flags.region);
}

/**
 * Normalizes each value; a value the normalizer rejects (RangeError) is set
 * aside with its message, anything else is a bug and propagates.
 */
function normalizeAll<T>(values: readonly string[], fn: (value: string) => T) {
  const done: T[] = [];
  const failed: string[] = [];
  for (const value of values) {
    try {
      done.push(fn(value));
    } catch (err) {
      if (!(err instanceof RangeError)) throw err;
      failed.push(err.message);
    }
  }
  return { done, failed };
}

/**
 * Reports the values that failed (the caller has printed the rest): one error
 * line each, as the error boundary prints them (plain, or a JSON log line),
 * then a usage error (exit 2). A single value is just its error.
 */
function reportFailures(ctx: Context, failed: string[], total: number): void {
  if (failed.length === 0) return;
  if (total === 1) throw new UsageError(failed[0]);
  for (const message of failed) {
    if (ctx.config().logFormat === "json") ctx.logger().error(message);
    else ctx.io.stderr(`error: ${message}\n`);
  }
  throw new UsageError(`${failed.length} of ${total} values could not be normalized`);
}

function print(ctx: Context, flags: Flags, header: string[], rows: Row[]): void {
  if (rows.length === 0) return;
  if (flags.json) {
    ctx.io.stdout(rows.map((r) => JSON.stringify(r.json) + "\n").join(""));
  } else {
    ctx.io.stdout(formatGrid([header, ...rows.map((r) => r.cells)]));
  }
}

function emailRow(input: string): Row {
  const n = normalizeEmail(input);
  const key = hash64(n.address);
  const tag = n.tag === undefined ? "-" : n.tag === "" ? '""' : n.tag;
  return {
    cells: [show(input), n.address, tag, ...keyCells(key)],
    json: {
      kind: "email",
      input,
      normalized: n.address,
      tag: n.tag ?? null,
      display_name: n.displayName ?? null,
      ...keyFields(key),
    },
  };
}

function phoneRow(input: string, phoneRegion: string): Row {
  const n = normalizePhone(input, { region: phoneRegion });
  const key = hash64(n.value);
  return {
    cells: [show(input), n.value, n.kind, ...keyCells(key)],
    json: {
      kind: "phone",
      input,
      normalized: n.value,
      type: n.kind,
      region: phoneRegion,
      ...keyFields(key),
    },
  };
}

function bodyRow(input: string): Row {
  const normalized = normalizeBody(input);
  // An empty normalized body has no body row, so no key.
  const key = normalized === "" ? undefined : hash64(normalized);
  return {
    cells: [JSON.stringify(input), JSON.stringify(normalized), ...keyCells(key)],
    json: { kind: "body", input, normalized, ...keyFields(key) },
  };
}

const regionOption = () =>
  new Option(
    "--region <region>",
    "region for phone numbers without a country code (default: CONVO_DEFAULT_REGION or US)",
  );
const jsonOption = () => new Option("--json", "print one JSON object per line (keys as strings)");

/**
 * Builds `convo normalize` with its four subcommands: `email`, `phone`, `body`
 * (one row or JSON object per value) and `key` (a conversation key).
 *
 * @example Usage
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { run } from "./program.ts";
 * let out = "";
 * const code = await run(["normalize", "phone", "--json", "(415) 555-2671"], {
 *   stdout: (text) => void (out += text),
 *   stderr: () => {},
 *   stdin: () => new ReadableStream(),
 *   stderrIsTerminal: false,
 *   env: {},
 *   cwd: ".",
 * });
 * equal(code, 0);
 * equal(JSON.parse(out).normalized, "+14155552671");
 * ```
 */
export function normalizeCommand(ctx: Context): Command {
  const cmd = new Command("normalize")
    .summary("Show normalized addresses and bodies, their keys, and conversation keys")
    .description(
      "Show the normalized form of addresses and bodies with their 64-bit keys " +
        "(signed decimal as stored, and hex), or a conversation key. No database. " +
        "Values starting with '-' go after '--'.",
    );

  cmd.command("email")
    .description("Normalize email addresses (display name, case, +tag, gmail dots, IDN)")
    .argument("<values...>", "addresses, e.g. '\"Jane Doe\" <Jane+news@X.com>'")
    .addOption(regionOption().hideHelp())
    .addOption(jsonOption())
    .action((values, flags) => {
      const { done, failed } = normalizeAll(values, emailRow);
      print(ctx, flags, ["INPUT", "NORMALIZED", "TAG", "KEY", "KEY HEX"], done);
      reportFailures(ctx, failed, values.length);
    });

  cmd.command("phone")
    .description("Normalize SMS/MMS addresses: E.164 numbers, short codes, sender ids")
    .argument("<values...>", "numbers, short codes or sender ids, e.g. '(415) 555-2671'")
    .addOption(regionOption())
    .addOption(jsonOption())
    .action((values, flags) => {
      const phoneRegion = region(ctx, flags);
      const { done, failed } = normalizeAll(values, (v) => phoneRow(v, phoneRegion));
      print(ctx, flags, ["INPUT", "NORMALIZED", "KIND", "KEY", "KEY HEX"], done);
      reportFailures(ctx, failed, values.length);
    });

  cmd.command("body")
    .description("Normalize message bodies (NFC, no U+0000, whitespace collapsed)")
    .argument("<values...>", "bodies; shell quoting such as $'a\\r\\nb' passes line breaks")
    .addOption(regionOption().hideHelp())
    .addOption(jsonOption())
    .action((values, flags) => {
      const { done, failed } = normalizeAll(values, bodyRow);
      print(ctx, flags, ["INPUT", "NORMALIZED", "KEY", "KEY HEX"], done);
      reportFailures(ctx, failed, values.length);
    });

  cmd.command("key")
    .summary("Compute a conversation key from a channel and participant addresses")
    .description(
      "Compute a conversation key from the channel and every participant address " +
        "(ours included), normalized, sorted and de-duplicated; mms threads with sms.",
    )
    .addArgument(new Argument("<channel>", "the message channel").choices(CHANNELS))
    .argument("<addresses...>", "participant addresses as received, in any order")
    .addOption(regionOption())
    .addOption(jsonOption())
    .action((channel, addresses, flags) => {
      const phoneRegion = region(ctx, flags);
      const { done, failed } = normalizeAll(
        addresses,
        (input) => ({
          input,
          normalized: normalizeAddress(channel, input, { region: phoneRegion }),
        }),
      );
      reportFailures(ctx, failed, addresses.length);
      const result = conversationKey(channel, done.map((d) => d.normalized));
      if (flags.json) {
        ctx.io.stdout(
          JSON.stringify({
            kind: "key",
            channel: result.channel,
            ...keyFields(result.key),
            participants: result.participants,
            inputs: done,
          }) + "\n",
        );
        return;
      }
      const rows = [
        ["channel", result.channel],
        ["key", result.key.toString()],
        ["key hex", hashHex(result.key)],
        ...result.participants.map((p, i) => [i === 0 ? "participants" : "", p]),
      ];
      ctx.io.stdout(formatGrid(rows));
    });

  return cmd;
}
