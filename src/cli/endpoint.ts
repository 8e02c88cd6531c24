/**
 * `convo endpoint add|list|remove`: our own numbers and mailboxes, mapped to the
 * customer and provider that own them (how ingest routes an event).
 *
 * @module
 */
import { Command, Option } from "@commander-js/extra-typings";
import { withDatabase } from "../db/connect.ts";
import { addEndpoint, type AddEndpointResult } from "../endpoints/add.ts";
import { type EndpointRow, listEndpoints } from "../endpoints/list.ts";
import {
  EndpointAddressError,
  ProviderKindError,
  UnknownCustomerError,
  UnknownEndpointError,
} from "../endpoints/errors.ts";
import { removalTarget, removeEndpoint } from "../endpoints/remove.ts";
import { ENDPOINT_KINDS } from "../endpoints/types.ts";
import { UsageError } from "../errors.ts";
import { maskAddress } from "../log/redact.ts";
import { hashHex } from "../normalize/hash.ts";
import { type Column, formatRows, OUTPUT_FORMATS } from "./_format.ts";
import { parseRegionOption } from "./_options.ts";
import type { Context } from "./context.ts";

/** A row of `endpoint list`: the core's row, and its key in hex for the eye. */
type ListRow = EndpointRow & {
  /** The key as 16 hex digits (as `convo normalize` prints it). */
  key_hex: string;
};

/** The columns of `endpoint list`, in every format. */
const LIST_COLUMNS: readonly Column<ListRow>[] = [
  { key: "customer" },
  { key: "provider" },
  { key: "kind" },
  { key: "address" },
  { key: "normalized" },
  { key: "key", align: "right" },
  { key: "key_hex" },
  { key: "created_at" },
];

/**
 * The core's usage errors, with a hint that names this command's flags and commands
 * (the message is the core's).
 */
function withHint(err: unknown): never {
  if (err instanceof EndpointAddressError && err.kind !== "email") {
    throw new UsageError(err.message, {
      hint:
        "give a phone number (+14155550100, or national with --region), a short code or a sender id",
    });
  }
  if (err instanceof ProviderKindError) {
    throw new UsageError(err.message, {
      hint: `give --provider a provider of kind ${err.kind} (a new name creates one); ` +
        "convo endpoint list shows which provider serves what",
    });
  }
  if (err instanceof UnknownEndpointError) {
    throw new UsageError(err.message, { hint: "convo endpoint list shows the mapped addresses" });
  }
  if (err instanceof UnknownCustomerError) {
    throw new UsageError(err.message, {
      hint: "convo endpoint list shows every customer's endpoints",
    });
  }
  throw err;
}

/** The one line `endpoint add` prints. The address is the user's own input, so it is shown. */
function describeAdd(
  r: AddEndpointResult,
  kind: string,
  customer: string,
  provider: string,
): string {
  const c = `${r.customerCreated ? "new " : ""}customer ${customer} (id ${r.customerId})`;
  const p = `${r.providerCreated ? "new " : ""}provider ${provider} (id ${r.providerId})`;
  return `${r.status} ${kind} ${r.normalized} for ${c}, ${p}; key ${r.key} (0x${hashHex(r.key)})\n`;
}

/**
 * Builds `convo endpoint` with `add`, `list` and `remove`.
 *
 * @example Usage
 * ```ts ignore
 * import { run } from "./program.ts";
 * await run(["endpoint", "add", "--customer", "acme", "--provider", "twilio", "--kind", "sms",
 *   "+14155550100"], io);
 * ```
 */
export function endpointCommand(ctx: Context): Command {
  const cmd = new Command("endpoint")
    .summary("Map our numbers and mailboxes to customers and providers")
    .description(
      "Our own numbers and mailboxes, mapped to the customer and provider that own them: " +
        "how an inbound or outbound event is routed. An address routes to one customer.",
    );

  cmd.command("add")
    .summary("Map an address to a customer and provider (created by name when absent)")
    .description(
      "Map an address to a customer and provider, creating the customer and the provider " +
        "by name when absent (a new provider gets --kind as its kind). The address is " +
        "normalized first; adding the same endpoint again changes nothing ('exists'). " +
        "An address already mapped to another customer or provider is refused (exit 2). " +
        "Addresses starting with '-' go after '--'.",
    )
    .argument("<address>", "phone number, short code, sender id or email address")
    .requiredOption("--customer <name>", "customer name")
    .requiredOption("--provider <name>", "provider name, within the customer")
    .addOption(
      new Option("--kind <kind>", "endpoint kind").choices(ENDPOINT_KINDS).makeOptionMandatory(),
    )
    .option(
      "--region <region>",
      "region for phone numbers without a country code (default: CONVO_DEFAULT_REGION or US)",
    )
    .action(async (address, opts) => {
      const region = opts.region === undefined
        ? ctx.config().defaultRegion
        : parseRegionOption("--region", opts.region);
      const log = ctx.logger();
      const result = await withDatabase(
        ctx.config(),
        log,
        { command: "endpoint", max: 1 },
        (db) =>
          addEndpoint(db.sql, {
            customer: opts.customer,
            provider: opts.provider,
            kind: opts.kind,
            address,
            region,
          }),
      ).catch(withHint);
      log.debug("endpoint " + result.status, {
        kind: opts.kind,
        address: maskAddress(result.normalized),
        customer_id: result.customerId,
        provider_id: result.providerId,
        mapping_id: result.mappingId,
      });
      ctx.io.stdout(
        describeAdd(result, opts.kind, opts.customer.trim(), opts.provider.trim()),
      );
    });

  cmd.command("list")
    .summary("List endpoint mappings")
    .description(
      "List endpoint mappings, by customer, kind and normalized address. Keys are " +
        "signed decimal (as stored) and hex (as `convo normalize` prints them).",
    )
    .option("--customer <name>", "only this customer's endpoints")
    .addOption(
      new Option("--format <format>", "output format").choices(OUTPUT_FORMATS).default(
        "table" as const,
      ),
    )
    .action(async (opts) => {
      const rows = await withDatabase(
        ctx.config(),
        ctx.logger(),
        { command: "endpoint", max: 1 },
        (db) => listEndpoints(db.sql, { customer: opts.customer }),
      ).catch(withHint);
      if (rows.length === 0 && opts.format === "table") {
        ctx.io.stdout("no endpoints; add one with convo endpoint add\n");
        return;
      }
      const shown = rows.map((r): ListRow => ({ ...r, key_hex: hashHex(r.key) }));
      ctx.io.stdout(formatRows(shown, LIST_COLUMNS, opts.format));
    });

  cmd.command("remove")
    .summary("Stop routing an address (messages, conversations and contacts stay)")
    .description(
      "Delete the endpoint mappings of an address, normalized as ingest normalizes it " +
        "(every kind it is mapped as, or --kind only). Messages, conversations, contacts, " +
        "the customer and the provider stay. Events for the address that are still queued " +
        "die with 'no endpoint mapping' once processed (within 30 s for a running worker, " +
        "which caches routes); map it again and run convo queue retry to bring them back. " +
        "An address no mapping matches is exit 2. Addresses starting with '-' go after '--'.",
    )
    .argument("<address>", "phone number, short code, sender id or email address")
    .addOption(new Option("--kind <kind>", "only the mapping of this kind").choices(ENDPOINT_KINDS))
    .option("--customer <name>", "only if the address belongs to this customer")
    .option(
      "--region <region>",
      "region for phone numbers without a country code (default: CONVO_DEFAULT_REGION or US)",
    )
    .option("--dry-run", "say what would be removed; change nothing")
    .action(async (address, opts) => {
      const region = opts.region === undefined
        ? ctx.config().defaultRegion
        : parseRegionOption("--region", opts.region);
      // A bad address is refused before connecting.
      try {
        removalTarget({ address, kind: opts.kind, region });
      } catch (err) {
        withHint(err);
      }
      const removed = await withDatabase(
        ctx.config(),
        ctx.logger(),
        { command: "endpoint", max: 1 },
        (db) =>
          removeEndpoint(db.sql, {
            address,
            kind: opts.kind,
            customer: opts.customer,
            region,
            dryRun: opts.dryRun === true,
          }),
      ).catch(withHint);
      const verb = opts.dryRun ? "would remove" : "removed";
      ctx.io.stdout(
        removed.map((r) =>
          `${verb} ${r.kind} ${r.normalized} of customer ${r.customer} (provider ${r.provider})\n`
        ).join("") + (opts.dryRun ? "nothing was changed\n" : ""),
      );
    });

  return cmd;
}
