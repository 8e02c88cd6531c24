import { deepEqual, equal, match, ok } from "node:assert/strict";
import { hash64, hashHex } from "../../src/normalize/hash.ts";
import { runCli } from "../_helpers/cli.ts";

/** Runs convo in this process with JSON logs (the format when stderr is no terminal). */
const convo = (args: string[], env: Record<string, string> = {}) =>
  runCli(args, { env: { CONVO_LOG_FORMAT: "json", ...env } });

const lines = (text: string) => text.trimEnd().split("\n");
const columns = (line: string) => line.split(/ {2,}/);
const ndjson = (text: string) => lines(text).map((l) => JSON.parse(l));
/** The messages of JSON log lines (the log format when stderr is no terminal). */
const errors = (stderr: string) =>
  ndjson(stderr).map((l) => {
    equal(l.level, "error");
    return l.msg;
  });

Deno.test("convo normalize email prints the address, tag and key", async () => {
  const r = await convo(["normalize", "email", '"Jane Doe" <Jane.Doe+News@GoogleMail.com>']);
  equal(r.code, 0, r.stderr);
  equal(r.stderr, "");
  const [header, row] = lines(r.stdout);
  deepEqual(columns(header), ["INPUT", "NORMALIZED", "TAG", "KEY", "KEY HEX"]);
  const key = hash64("janedoe@gmail.com");
  deepEqual(columns(row), [
    '"Jane Doe" <Jane.Doe+News@GoogleMail.com>',
    "janedoe@gmail.com",
    "News",
    key.toString(),
    hashHex(key),
  ]);
});

Deno.test("convo normalize email --json prints one object per value", async () => {
  const r = await convo(["normalize", "email", "--json", "Jane <JANE+x@X.com>", "bob@y.org"]);
  equal(r.code, 0, r.stderr);
  const key = hash64("jane@x.com");
  deepEqual(ndjson(r.stdout), [
    {
      kind: "email",
      input: "Jane <JANE+x@X.com>",
      normalized: "jane@x.com",
      tag: "x",
      display_name: "Jane",
      key: key.toString(),
      key_hex: hashHex(key),
    },
    {
      kind: "email",
      input: "bob@y.org",
      normalized: "bob@y.org",
      tag: null,
      display_name: null,
      key: hash64("bob@y.org").toString(),
      key_hex: hashHex(hash64("bob@y.org")),
    },
  ]);
});

Deno.test("convo normalize phone prints one line per value with its kind", async () => {
  const r = await convo([
    "normalize",
    "phone",
    "(415) 555-2671",
    "+44 20 7946 0958",
    "12345",
    "Acme",
  ]);
  equal(r.code, 0, r.stderr);
  const rows = lines(r.stdout).slice(1).map((l) => columns(l).slice(0, 3));
  deepEqual(rows, [
    ["(415) 555-2671", "+14155552671", "e164"],
    ["+44 20 7946 0958", "+442079460958", "e164"],
    ["12345", "sc:12345", "shortcode"],
    ["Acme", "id:ACME", "sender_id"],
  ]);
});

Deno.test("convo normalize phone takes the region from --region, then CONVO_DEFAULT_REGION", async () => {
  const flag = await convo(["normalize", "phone", "--json", "--region", "gb", "020 7946 0958"]);
  equal(flag.code, 0, flag.stderr);
  equal(ndjson(flag.stdout)[0].normalized, "+442079460958");
  equal(ndjson(flag.stdout)[0].region, "GB");
  const env = await convo(["normalize", "phone", "--json", "020 7946 0958"], {
    CONVO_DEFAULT_REGION: "GB",
  });
  equal(env.code, 0, env.stderr);
  equal(ndjson(env.stdout)[0].normalized, "+442079460958");
  const us = await convo(["normalize", "phone", "020 7946 0958"]);
  equal(us.code, 2);
});

Deno.test("convo normalize phone rejects an unknown region with exit 2", async () => {
  const r = await convo(["normalize", "phone", "--region", "ZZ", "4155552671"]);
  equal(r.code, 2);
  equal(r.stdout, "");
  const [line] = ndjson(r.stderr);
  equal(line.msg, "invalid --region: current value is 'ZZ'");
  match(line.hint, /^expected a two-letter ISO 3166 region/);
});

Deno.test("convo normalize prints the good values and reports each bad one, exit 2", async () => {
  const r = await convo(["normalize", "phone", "12", "4155552671", "+12345"]);
  equal(r.code, 2);
  equal(lines(r.stdout).length, 2);
  match(lines(r.stdout)[1], /^4155552671 +\+14155552671 /);
  deepEqual(errors(r.stderr), [
    "Cannot parse phone number: current value is '12' (too short for a number or a short code)",
    "Cannot parse phone number: current value is '+12345' (not a possible international number)",
    "2 of 3 values could not be normalized",
  ]);
});

Deno.test("convo normalize reports bad values as plain lines with --log-format pretty", async () => {
  const r = await convo(["--log-format", "pretty", "normalize", "email", "a@x.com", "b", "c@"]);
  equal(r.code, 2);
  equal(lines(r.stdout).length, 2);
  deepEqual(lines(r.stderr), [
    "error: Cannot parse email address: current value is 'b' (no '@')",
    "error: Cannot parse email address: current value is 'c@' (empty domain)",
    "error: 2 of 3 values could not be normalized",
  ]);
});

Deno.test("convo normalize reports a single bad value as one line, exit 2", async () => {
  const r = await convo(["normalize", "email", "jane.example.com"]);
  equal(r.code, 2);
  equal(r.stdout, "");
  deepEqual(errors(r.stderr), [
    "Cannot parse email address: current value is 'jane.example.com' (no '@')",
  ]);
  const pretty = await convo(["normalize", "email", "jane.example.com"], {
    CONVO_LOG_FORMAT: "pretty",
  });
  equal(
    pretty.stderr,
    "error: Cannot parse email address: current value is 'jane.example.com' (no '@')\n",
  );
});

Deno.test("convo normalize body shows whitespace and has no key for an empty body", async () => {
  const r = await convo(["normalize", "body", "--json", "Hello,\r\n  world\t!\0", " \n "]);
  equal(r.code, 0, r.stderr);
  const [full, empty] = ndjson(r.stdout);
  equal(full.normalized, "Hello, world !");
  equal(full.key, hash64("Hello, world !").toString());
  deepEqual([empty.normalized, empty.key, empty.key_hex], ["", null, null]);
  const text = await convo(["normalize", "body", "a\r\nb"]);
  match(lines(text.stdout)[1], /^"a\\r\\nb" +"a b" +-?\d+ +[0-9a-f]{16}$/);
});

Deno.test("convo normalize key prints channel, key and sorted participants", async () => {
  const r = await convo([
    "normalize",
    "key",
    "mms",
    "+44 20 7946 0958",
    "(415) 555-2671",
    "tel:+1-415-555-2671",
  ]);
  equal(r.code, 0, r.stderr);
  const key = hash64("sms\n+14155552671\n+442079460958");
  deepEqual(lines(r.stdout).map((l) => columns(l.trim())), [
    ["channel", "sms"],
    ["key", key.toString()],
    ["key hex", hashHex(key)],
    ["participants", "+14155552671"],
    ["+442079460958"],
  ]);
});

Deno.test("convo normalize key --json lists the inputs and their normalized forms", async () => {
  const r = await convo([
    "normalize",
    "key",
    "--json",
    "email",
    "Bob <B.O.B@GMAIL.com>",
    "amy@x.org",
  ]);
  equal(r.code, 0, r.stderr);
  const key = hash64("email\namy@x.org\nbob@gmail.com");
  deepEqual(ndjson(r.stdout), [{
    kind: "key",
    channel: "email",
    key: key.toString(),
    key_hex: hashHex(key),
    participants: ["amy@x.org", "bob@gmail.com"],
    inputs: [
      { input: "Bob <B.O.B@GMAIL.com>", normalized: "bob@gmail.com" },
      { input: "amy@x.org", normalized: "amy@x.org" },
    ],
  }]);
});

Deno.test("convo normalize key prints no key when an address is bad", async () => {
  const r = await convo(["normalize", "key", "sms", "+14155552671", "+1"]);
  equal(r.code, 2);
  equal(r.stdout, "");
  deepEqual(errors(r.stderr), [
    "Cannot parse phone number: current value is '+1' (not a possible international number)",
    "1 of 2 values could not be normalized",
  ]);
});

Deno.test("convo normalize key rejects an unknown channel with exit 2", async () => {
  const r = await convo(["normalize", "key", "fax", "+14155552671"]);
  equal(r.code, 2);
  equal(r.stdout, "");
  match(r.stderr, /'fax' is invalid/);
});

Deno.test("convo normalize without a kind shows help, exit 2", async () => {
  const r = await convo(["normalize"]);
  equal(r.code, 2);
  ok(r.stderr.includes("Usage: convo normalize"));
});
