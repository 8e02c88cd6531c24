/**
 * Deterministic generator of realistic `convo enqueue` input for benchmarks: NDJSON
 * envelope lines, plus the endpoints (our numbers and mailboxes) they are addressed to,
 * so that a worker benchmark can register them first.
 *
 * The shape of the traffic:
 *
 * - ~50 customers, each with 1–3 SMS numbers (Twilio) and a support mailbox (Postmark);
 *   customers differ in volume (weights 1–5).
 * - ~80 contacts per customer (a few thousand in all), each with a phone number and an
 *   email address, reused Zipf-like (s = 1.1): a few regulars, a long tail.
 * - Of the events: ~50 % SMS (`message.received`, `message.sent`, `twilio.message`),
 *   ~20 % group MMS (3–6 participants, 1–3 media), ~30 % email (`message.received`,
 *   `postmark.inbound`) with Cc, display names, plus-tagged and mixed-case addresses.
 * - ~5 % of the lines are replays: exact copies of a recent earlier line (a provider
 *   retrying a webhook), which `enqueue` must count as duplicates.
 *
 * Every line is valid for `parseEventLine`. Phone numbers are in the fictional 555 range,
 * domains are `example.com|net|org`.
 *
 * CLI: `deno run -A tests/bench/_generate.ts --count 200000 --out /tmp/events.ndjson
 * --endpoints /tmp/endpoints.json [--seed 1]` (without `--out`, lines go to stdout).
 *
 * @module
 */
import { parseArgs } from "node:util";
import { mulberry32 as prng } from "../_helpers/prng.ts";

/** One of our own addresses, to register with `convo endpoint add`. */
export interface EndpointSpec {
  /** Customer name, e.g. `customer-07`. */
  customer: string;
  /** Provider name: `twilio` (sms) or `postmark` (email). */
  provider: string;
  /** `sms` or `email`. */
  kind: "sms" | "email";
  /** The address as written in events (`+1…`, `support@customer-07.example.org`). */
  address: string;
}

/** What {@link generateEvents} makes. */
export interface GeneratedEvents {
  /** NDJSON envelope lines, without newlines. */
  lines: string[];
  /** Every customer's numbers and mailbox. */
  endpoints: EndpointSpec[];
  /** How many of the lines are replays of an earlier line. */
  replays: number;
}

const CUSTOMERS = 50;
const CONTACTS_PER_CUSTOMER = 80;
const ZIPF_S = 1.1;
const REPLAY_RATE = 0.05;
/** Replays copy one of this many most recent lines (providers retry soon). */
const REPLAY_WINDOW = 2000;
const START = Date.UTC(2024, 4, 1, 0, 0, 0);

const FIRST = [
  "Dana",
  "Ravi",
  "Mei",
  "Lukas",
  "Amara",
  "Jonas",
  "Sofia",
  "Kwame",
  "Elena",
  "Tomás",
  "Yuki",
  "Noor",
  "Liam",
  "Zoë",
  "Mateo",
  "Ingrid",
  "Chidi",
  "Anaïs",
  "Omar",
  "Hana",
];
const LAST = [
  "Lee",
  "Patel",
  "Chen",
  "Müller",
  "Okafor",
  "Berg",
  "Rossi",
  "Mensah",
  "Ivanova",
  "García",
  "Sato",
  "Haddad",
  "Walsh",
  "Dubois",
  "Silva",
  "Larsen",
  "Eze",
  "Moreau",
  "Farouk",
  "Kim",
];
const AREA = ["212", "310", "415", "503", "617", "646", "702", "718", "773", "917"];
const DOMAINS = ["example.com", "example.net", "example.org"];
const WORDS = (
  "order delivery pickup today tomorrow thanks please confirm invoice refund box photo " +
  "address appointment schedule ready late sorry great perfect call back store hours " +
  "payment card receipt tracking number package damaged replacement question quick update " +
  "morning afternoon evening weekend monday friday price quote estimate sure okay yes no"
).split(" ");
const EXTRAS = ["🙂", "👍", "😀", "🎉", "café", "naïve", "€20", "№5", "ok!", "?"];
const SUBJECTS = [
  "Invoice question",
  "Order status",
  "Damaged item",
  "Appointment change",
  "Refund request",
  "Quote for next month",
  "Delivery address update",
  "Re: your ticket",
];
const CONTENT_TYPES = ["image/jpeg", "image/png", "image/gif", "video/mp4"];

interface Contact {
  name: string;
  phone: string;
  /** The canonical (lowercase, untagged) address; writings of it vary per event. */
  email: string;
}

interface Customer {
  name: string;
  slug: string;
  numbers: string[];
  mailbox: string;
  contacts: Contact[];
  weight: number;
}

class Gen {
  readonly rand: () => number;
  constructor(seed: number) {
    this.rand = prng(seed);
  }
  int(min: number, max: number): number {
    return min + Math.floor(this.rand() * (max - min + 1));
  }
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.rand() * items.length)];
  }
  chance(p: number): boolean {
    return this.rand() < p;
  }
  hex(n: number): string {
    let s = "";
    while (s.length < n) s += Math.floor(this.rand() * 0x100000000).toString(16).padStart(8, "0");
    return s.slice(0, n);
  }
  uuid(): string {
    const h = this.hex(32);
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${
      h.slice(20)
    }`;
  }
  words(min: number, max: number): string {
    const n = this.int(min, max);
    const out: string[] = [];
    for (let i = 0; i < n; i++) out.push(this.chance(0.05) ? this.pick(EXTRAS) : this.pick(WORDS));
    const s = out.join(" ");
    return s[0].toUpperCase() + s.slice(1) + (this.chance(0.3) ? "?" : ".");
  }
  base64(bytes: number): string {
    const raw = new Uint8Array(bytes);
    for (let i = 0; i < bytes; i++) raw[i] = Math.floor(this.rand() * 256);
    let bin = "";
    for (const b of raw) bin += String.fromCharCode(b);
    return btoa(bin);
  }
}

/** Cumulative Zipf(s) weights over ranks 1..n, for sampling by binary search. */
function zipfCdf(n: number, s: number): Float64Array {
  const cdf = new Float64Array(n);
  let total = 0;
  for (let k = 1; k <= n; k++) {
    total += 1 / Math.pow(k, s);
    cdf[k - 1] = total;
  }
  for (let i = 0; i < n; i++) cdf[i] /= total;
  return cdf;
}

function sample(cdf: Float64Array, u: number): number {
  let lo = 0;
  let hi = cdf.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (cdf[mid] < u) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function makeCustomers(g: Gen): Customer[] {
  const customers: Customer[] = [];
  const usedPhones = new Set<string>();
  let ours = 0;
  for (let c = 1; c <= CUSTOMERS; c++) {
    const slug = `customer-${String(c).padStart(2, "0")}`;
    const numbers: string[] = [];
    for (let i = g.int(1, 3); i > 0; i--) {
      // Our numbers: 555-01xx in two area codes (150 at most), apart from contacts'.
      const area = ours < 100 ? "415" : "628";
      numbers.push(`+1${area}55501${String(ours % 100).padStart(2, "0")}`);
      ours++;
    }
    const contacts: Contact[] = [];
    const usedEmails = new Set<string>();
    while (contacts.length < CONTACTS_PER_CUSTOMER) {
      const first = g.pick(FIRST);
      const last = g.pick(LAST);
      const phone = `+1${g.pick(AREA)}555${g.int(200, 9999).toString().padStart(4, "0")}`;
      const local = `${first}.${last}`.normalize("NFD").replace(/[^A-Za-z.]/g, "").toLowerCase();
      const email = `${local}${g.int(1, 99)}@${g.pick(DOMAINS)}`;
      if (usedPhones.has(phone) || usedEmails.has(email)) continue;
      usedPhones.add(phone);
      usedEmails.add(email);
      contacts.push({ name: `${first} ${last}`, phone, email });
    }
    customers.push({
      name: slug,
      slug,
      numbers,
      mailbox: `support@${slug}.example.org`,
      contacts,
      weight: g.int(1, 5),
    });
  }
  return customers;
}

/** A writing of an address as people and providers vary it: case, a `+tag`. */
function writeEmail(g: Gen, email: string): string {
  const [local, domain] = email.split("@");
  let l = local;
  if (g.chance(0.2)) l += `+${g.pick(["orders", "billing", "news", "t" + g.int(1, 999)])}`;
  if (g.chance(0.3)) {
    l = l.split(".").map((p) => p[0].toUpperCase() + p.slice(1)).join(".");
    return `${l}@${g.chance(0.5) ? domain[0].toUpperCase() + domain.slice(1) : domain}`;
  }
  return `${l}@${domain}`;
}

function ourMailbox(g: Gen, c: Customer): string {
  if (!g.chance(0.3)) return c.mailbox;
  const [local, domain] = c.mailbox.split("@");
  return `${g.chance(0.5) ? "Support" : local}+Ticket-${g.int(1000, 9999)}@${domain}`;
}

interface Picker {
  customer(): Customer;
  contact(c: Customer): Contact;
  /** `n` distinct contacts of a customer. */
  contacts(c: Customer, n: number): Contact[];
}

function makePicker(g: Gen, customers: Customer[]): Picker {
  const customerCdf = new Float64Array(customers.length);
  let total = 0;
  customers.forEach((c, i) => {
    total += c.weight;
    customerCdf[i] = total;
  });
  for (let i = 0; i < customerCdf.length; i++) customerCdf[i] /= total;
  const contactCdf = zipfCdf(CONTACTS_PER_CUSTOMER, ZIPF_S);
  const contact = (c: Customer) => c.contacts[sample(contactCdf, g.rand())];
  return {
    customer: () => customers[sample(customerCdf, g.rand())],
    contact,
    contacts(c, n) {
      const chosen = new Set<Contact>();
      while (chosen.size < n) chosen.add(contact(c));
      return [...chosen];
    },
  };
}

function iso(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

function mediaUrl(g: Gen, account: string, sid: string): string {
  return `https://api.twilio.com/2010-04-01/Accounts/${account}/Messages/${sid}/Media/ME${
    g.hex(32)
  }`;
}

function smsCanonical(g: Gen, p: Picker, at: number, sent: boolean): string {
  const c = p.customer();
  const contact = p.contact(c);
  const ours = g.pick(c.numbers);
  const payload: Record<string, unknown> = {
    channel: "sms",
    provider_message_id: `SM${g.hex(32)}`,
    from: sent ? ours : contact.phone,
    to: sent && g.chance(0.5) ? [contact.phone] : sent ? contact.phone : ours,
    body: g.words(2, 25),
    sent_at: iso(at),
  };
  if (!sent) payload.received_at = iso(at + g.int(100, 3000));
  return JSON.stringify({ event_type: sent ? "message.sent" : "message.received", payload });
}

function smsTwilio(g: Gen, p: Picker, account: string): string {
  const c = p.customer();
  const contact = p.contact(c);
  const sid = `SM${g.hex(32)}`;
  const payload = {
    ToCountry: "US",
    ToState: "CA",
    SmsMessageSid: sid,
    NumMedia: "0",
    ToCity: "SAN FRANCISCO",
    FromZip: String(g.int(10001, 99950)),
    SmsSid: sid,
    FromState: g.pick(["CA", "NY", "IL", "WA", "TX"]),
    SmsStatus: "received",
    FromCity: g.pick(["SAN FRANCISCO", "NEW YORK", "CHICAGO", "SEATTLE", "AUSTIN"]),
    Body: g.words(1, 30),
    FromCountry: "US",
    To: g.pick(c.numbers),
    MessagingServiceSid: `MG${g.hex(32)}`,
    ToZip: "94103",
    NumSegments: String(g.int(1, 3)),
    ReferralNumMedia: "0",
    MessageSid: sid,
    AccountSid: account,
    From: contact.phone,
    ApiVersion: "2010-04-01",
  };
  return JSON.stringify({ event_type: "twilio.message", payload });
}

function groupMms(g: Gen, p: Picker, at: number, account: string, sent: boolean): string {
  const c = p.customer();
  const others = p.contacts(c, g.int(2, 5)); // with our number: 3–6 participants
  const ours = g.pick(c.numbers);
  const sid = `MM${g.hex(32)}`;
  const media = Array.from({ length: g.int(1, 3) }, () => ({
    url: mediaUrl(g, account, sid),
    content_type: g.pick(CONTENT_TYPES),
  }));
  const from = sent ? ours : others[0].phone;
  const to = sent ? others.map((o) => o.phone) : [ours, ...others.slice(1).map((o) => o.phone)];
  const payload: Record<string, unknown> = {
    channel: "mms",
    provider_message_id: sid,
    from,
    to,
    sent_at: iso(at),
    attachments: media,
  };
  if (g.chance(0.8)) payload.body = g.words(1, 20);
  return JSON.stringify({ event_type: sent ? "message.sent" : "message.received", payload });
}

function named(name: string, address: string): string {
  return `${name.includes(",") ? `"${name}"` : name} <${address}>`;
}

function emailCanonical(g: Gen, p: Picker, at: number): string {
  const c = p.customer();
  const [sender, ...cc] = p.contacts(c, g.int(1, 3));
  const text = [g.words(5, 40), g.words(5, 40), `${sender.name.split(" ")[0]}`].join("\n\n");
  const payload: Record<string, unknown> = {
    channel: "email",
    provider_message_id: `<${g.hex(16)}.${g.int(1, 99999)}@mail.${g.pick(DOMAINS)}>`,
    from: g.chance(0.6)
      ? named(sender.name, writeEmail(g, sender.email))
      : writeEmail(g, sender.email),
    to: g.chance(0.5) ? ourMailbox(g, c) : [ourMailbox(g, c)],
    subject: g.pick(SUBJECTS),
    body: text,
    sent_at: iso(at),
    received_at: iso(at + g.int(500, 60_000)),
  };
  if (cc.length > 0) payload.cc = cc.map((o) => writeEmail(g, o.email));
  if (g.chance(0.5)) payload.html = `<p>${text.replaceAll("\n\n", "</p><p>")}</p>`;
  if (g.chance(0.2)) {
    payload.attachments = [{
      url: `https://files.example.org/${c.slug}/${g.hex(12)}.pdf`,
      content_type: "application/pdf",
    }];
  }
  return JSON.stringify({ event_type: "message.received", payload });
}

function postmark(g: Gen, p: Picker, at: number): string {
  const c = p.customer();
  const [sender, ...cc] = p.contacts(c, g.int(1, 3));
  const from = writeEmail(g, sender.email);
  const to = ourMailbox(g, c);
  const plus = (a: string) => /\+([^@]*)@/.exec(a)?.[1] ?? "";
  const ccWritten = cc.map((o) => ({ Email: writeEmail(g, o.email), Name: o.name }));
  const text = [g.words(5, 40), g.words(5, 40), sender.name.split(" ")[0]].join("\n\n");
  const date = new Date(at - 7 * 3600_000);
  const day = date.toUTCString().slice(0, 3);
  const dateHeader = `${day}, ${date.getUTCDate()} ${date.toUTCString().slice(8, 16)} ${
    date.toISOString().slice(11, 19)
  } -07:00`;
  const messageId = `<${g.hex(12)}@mail.${g.pick(DOMAINS)}>`;
  const attachments = g.chance(0.2)
    ? [{
      Name: `scan-${g.int(1, 999)}.pdf`,
      Content: g.base64(g.int(200, 2000)),
      ContentType: "application/pdf",
      ContentLength: 0,
      ContentID: "",
    }]
    : [];
  for (const a of attachments) a.ContentLength = Math.floor(a.Content.length * 3 / 4);
  const payload = {
    FromName: sender.name,
    MessageStream: "inbound",
    From: from,
    FromFull: { Email: from, Name: sender.name, MailboxHash: plus(from) },
    To: `"Support" <${to}>`,
    ToFull: [{ Email: to, Name: "Support", MailboxHash: plus(to) }],
    Cc: ccWritten.map((x) => `"${x.Name}" <${x.Email}>`).join(", "),
    CcFull: ccWritten.map((x) => ({ ...x, MailboxHash: plus(x.Email) })),
    Bcc: "",
    BccFull: [],
    OriginalRecipient: to.toLowerCase(),
    Subject: g.pick(SUBJECTS),
    MessageID: g.uuid(),
    ReplyTo: "",
    MailboxHash: plus(to),
    Date: dateHeader,
    TextBody: text,
    HtmlBody: `<html><body><p>${text.replaceAll("\n\n", "</p><p>")}</p></body></html>`,
    StrippedTextReply: "",
    Tag: "",
    Headers: [
      { Name: "X-Spam-Status", Value: "No" },
      { Name: "X-Spam-Score", Value: (g.rand() * 2 - 1).toFixed(1) },
      { Name: "MIME-Version", Value: "1.0" },
      { Name: "Message-ID", Value: messageId },
    ],
    Attachments: attachments,
  };
  return JSON.stringify({ event_type: "postmark.inbound", payload });
}

/**
 * Generates `n` envelope lines (replays included) and the endpoints they address;
 * the same `seed` always gives the same output.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { generateEvents } from "./_generate.ts";
 * const { lines, endpoints } = generateEvents(100, 7);
 * assert.equal(lines.length, 100);
 * assert.deepEqual(generateEvents(100, 7).lines, lines);
 * assert.ok(endpoints.some((e) => e.kind === "email"));
 * ```
 */
export function generateEvents(n: number, seed: number): GeneratedEvents {
  const g = new Gen(seed);
  const customers = makeCustomers(g);
  const picker = makePicker(g, customers);
  const account = `AC${g.hex(32)}`;
  const lines: string[] = [];
  let replays = 0;
  let at = START;
  for (let i = 0; i < n; i++) {
    if (i > 0 && g.chance(REPLAY_RATE)) {
      lines.push(lines[i - 1 - Math.floor(g.rand() * Math.min(i, REPLAY_WINDOW))]);
      replays++;
      continue;
    }
    at += g.int(1, 25_000);
    const r = g.rand();
    let line: string;
    if (r < 0.20) line = smsCanonical(g, picker, at, false);
    else if (r < 0.30) line = smsCanonical(g, picker, at, true);
    else if (r < 0.50) line = smsTwilio(g, picker, account);
    else if (r < 0.65) line = groupMms(g, picker, at, account, false);
    else if (r < 0.70) line = groupMms(g, picker, at, account, true);
    else if (r < 0.85) line = emailCanonical(g, picker, at);
    else line = postmark(g, picker, at);
    lines.push(line);
  }
  const endpoints: EndpointSpec[] = [];
  for (const c of customers) {
    for (const address of c.numbers) {
      endpoints.push({ customer: c.name, provider: "twilio", kind: "sms", address });
    }
    endpoints.push({ customer: c.name, provider: "postmark", kind: "email", address: c.mailbox });
  }
  return { lines, endpoints, replays };
}

/** Writes lines to a file (or stdout) in large writes. */
async function writeLines(lines: string[], path: string | undefined): Promise<void> {
  const file = path === undefined
    ? Deno.stdout
    : await Deno.open(path, { write: true, create: true, truncate: true });
  const encoder = new TextEncoder();
  try {
    for (let i = 0; i < lines.length; i += 5000) {
      const bytes = encoder.encode(lines.slice(i, i + 5000).join("\n") + "\n");
      let off = 0;
      while (off < bytes.length) off += await file.write(bytes.subarray(off));
    }
  } finally {
    if (path !== undefined) file.close();
  }
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      count: { type: "string", default: "200000" },
      seed: { type: "string", default: "1" },
      out: { type: "string" },
      endpoints: { type: "string" },
    },
  });
  const count = Number(values.count);
  const seed = Number(values.seed);
  if (!Number.isSafeInteger(count) || count < 0 || !Number.isSafeInteger(seed)) {
    console.error("error: --count and --seed take integers");
    Deno.exit(2);
  }
  const { lines, endpoints, replays } = generateEvents(count, seed);
  await writeLines(lines, values.out);
  if (values.endpoints) {
    await Deno.writeTextFile(values.endpoints, JSON.stringify(endpoints, null, 2) + "\n");
  }
  if (values.out) {
    console.error(
      `wrote ${lines.length} lines (${replays} replays) to ${values.out}` +
        (values.endpoints ? `, ${endpoints.length} endpoints to ${values.endpoints}` : ""),
    );
  }
}
