/**
 * Throughput of the pure event code: `parseEventLine` (enqueue) and `toCanonical`
 * (worker), per event type, on realistic payloads from tests/fixtures/events/.
 *
 * Run: `deno run -A tests/bench/events_bench.ts`. Each case is warmed up, then timed over
 * several runs; the median is printed (the spread says how noisy the machine is).
 *
 * @module
 */

import { canonicalPayloadSchema } from "../../src/events/canonical.ts";
import { parseEventLine } from "../../src/events/envelope.ts";
import { postmarkInboundSchema } from "../../src/events/postmark.ts";
import { toCanonical } from "../../src/events/to_canonical.ts";
import { twilioMessageSchema } from "../../src/events/twilio.ts";
import type { EventType } from "../../src/events/types.ts";

const RUNS = 7;
const PARSE_ITERATIONS = 50_000;
const CANONICAL_ITERATIONS = 100_000;
const MAX_PAYLOAD_BYTES = 262_144;

const fixtures = new URL("../fixtures/events/", import.meta.url);
const readJson = async (name: string) =>
  JSON.parse(await Deno.readTextFile(new URL(name, fixtures))) as Record<string, unknown>;

const twilioSms = await readJson("twilio_sms.json");
const twilioMms = await readJson("twilio_mms.json");
const postmark = await readJson("postmark_inbound.json");
const canonicalSms = {
  channel: "sms",
  provider_message_id: "SM5f1a0c2b9e8d4f7a6b3c2d1e0f9a8b7c",
  from: "+14155550101",
  to: "+14155550142",
  body: "Running 10 minutes late, see you at the cafe on 3rd.",
  sent_at: "2024-05-01T16:04:11Z",
  received_at: "2024-05-01T16:04:12.250Z",
};
const canonicalEmail = {
  channel: "email",
  provider_message_id: "<CAF7x3+ab1@mail.example.com>",
  from: "Dana Lee <dana.lee@example.com>",
  to: ["support@example.org"],
  cc: ["ops@example.org", "billing@example.org"],
  subject: "Re: Invoice 2024-0419",
  body: "Thanks, the corrected invoice looks right.\n\n> On Tue, support wrote:\n> Attached.",
  html: "<p>Thanks, the corrected invoice looks right.</p>",
  sent_at: "2024-05-01T09:15:00-07:00",
  attachments: [{ url: "https://files.example.org/a/1.pdf", content_type: "application/pdf" }],
};

interface Case {
  name: string;
  eventType: EventType;
  payload: Record<string, unknown>;
}

const cases: Case[] = [
  { name: "message.received sms", eventType: "message.received", payload: canonicalSms },
  { name: "message.sent email", eventType: "message.sent", payload: canonicalEmail },
  { name: "twilio.message sms", eventType: "twilio.message", payload: twilioSms },
  { name: "twilio.message mms", eventType: "twilio.message", payload: twilioMms },
  { name: "postmark.inbound", eventType: "postmark.inbound", payload: postmark },
];

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** Runs `fn` `iterations` times per run; returns per-second rates of each run. */
function measure(iterations: number, fn: (i: number) => void): number[] {
  for (let i = 0; i < Math.min(iterations, 20_000); i++) fn(i); // warm-up: let the JIT settle
  const rates: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    const start = performance.now();
    for (let i = 0; i < iterations; i++) fn(i);
    rates.push(iterations / ((performance.now() - start) / 1000));
  }
  return rates;
}

function report(label: string, unit: string, rates: number[]): void {
  const fmt = (n: number) => Math.round(n).toLocaleString("en-US");
  console.log(
    `${label.padEnd(44)} median ${fmt(median(rates)).padStart(11)} ${unit}/s` +
      `   (min ${fmt(Math.min(...rates))}, max ${fmt(Math.max(...rates))})`,
  );
}

console.log(
  `convo events bench: Deno ${Deno.version.deno}, V8 ${Deno.version.v8}, ${RUNS} runs, median`,
);

console.log("\nparseEventLine (envelope lines):");
for (const c of cases) {
  const line = JSON.stringify({ event_type: c.eventType, payload: c.payload });
  const check = parseEventLine(line, { maxPayloadBytes: MAX_PAYLOAD_BYTES });
  if (check.ok !== true) {
    throw new Error(`bench fixture rejected: ${c.name}: ${JSON.stringify(check)}`);
  }
  report(
    `${c.name} (${line.length} B)`,
    "lines",
    measure(PARSE_ITERATIONS, () => {
      parseEventLine(line, { maxPayloadBytes: MAX_PAYLOAD_BYTES });
    }),
  );
}
{
  // The slow path: a NUL escape makes the parser walk the whole value.
  const payload = { ...canonicalSms, body: "before\u0000after" };
  const line = JSON.stringify({ event_type: "message.received", payload });
  report(
    `message.received sms with \\u0000 (${line.length} B)`,
    "lines",
    measure(PARSE_ITERATIONS, () => {
      parseEventLine(line, { maxPayloadBytes: MAX_PAYLOAD_BYTES });
    }),
  );
}
{
  const line = '{"event_type":"message.received","payload":{"channel":"sms",';
  report(
    "malformed JSON",
    "lines",
    measure(PARSE_ITERATIONS, () => {
      parseEventLine(line, { maxPayloadBytes: MAX_PAYLOAD_BYTES });
    }),
  );
}

console.log("\ntoCanonical (payload objects, as the worker gets them from jsonb):");
const receivedAt = new Date("2024-05-01T16:04:12Z");
for (const c of cases) {
  report(
    c.name,
    "events",
    measure(CANONICAL_ITERATIONS, () => {
      toCanonical(c.eventType, c.payload, { receivedAt });
    }),
  );
}

console.log("\nzod safeParse alone (the schema share of the two above):");
const schemas = {
  "message.received": canonicalPayloadSchema,
  "message.sent": canonicalPayloadSchema,
  "twilio.message": twilioMessageSchema,
  "postmark.inbound": postmarkInboundSchema,
};
for (const c of cases) {
  const schema = schemas[c.eventType];
  report(
    c.name,
    "parses",
    measure(CANONICAL_ITERATIONS, () => {
      schema.safeParse(c.payload, { reportInput: true });
    }),
  );
}
