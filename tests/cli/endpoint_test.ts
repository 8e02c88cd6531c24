/**
 * `convo endpoint add|list` run in-process against a real PostgreSQL.
 */
import assert from "node:assert/strict";
import { hash64, hashHex } from "../../src/normalize/hash.ts";
import { migratedEnv, runCli } from "../_helpers/cli.ts";
import { withTestDatabase } from "../_helpers/db.ts";

const add = (env: Record<string, string>, ...args: string[]) =>
  runCli(["endpoint", "add", ...args], { env });

Deno.test("convo endpoint add: prints added, then exists, exit 0 both; one row", async () => {
  await withTestDatabase(async ({ url, sql }) => {
    const env = await migratedEnv(url);
    const key = hash64("+14155550100");
    const args = ["--customer", "acme", "--provider", "twilio", "--kind", "sms", "(415) 555-0100"];
    const first = await add(env, ...args);
    assert.equal(first.code, 0, first.stderr);
    assert.equal(
      first.stdout,
      `added sms +14155550100 for new customer acme (id 1), new provider twilio (id 1); ` +
        `key ${key} (0x${hashHex(key)})\n`,
    );
    const second = await add(env, ...args);
    assert.equal(second.code, 0, second.stderr);
    assert.equal(
      second.stdout,
      `exists sms +14155550100 for customer acme (id 1), provider twilio (id 1); ` +
        `key ${key} (0x${hashHex(key)})\n`,
    );
    assert.equal(second.stderr, "");
    assert.equal((await sql`select 1 from endpoint_mappings`).length, 1);
  });
});

Deno.test("convo endpoint add: national input uses --region, else CONVO_DEFAULT_REGION", async () => {
  await withTestDatabase(async ({ url }) => {
    const env = await migratedEnv(url);
    const base = ["--customer", "acme", "--provider", "twilio", "--kind", "sms"];
    const gb = await add(env, ...base, "--region", "gb", "020 7946 0958");
    assert.equal(gb.code, 0, gb.stderr);
    assert.match(gb.stdout, /^added sms \+442079460958 /);
    const de = await runCli(["endpoint", "add", ...base, "030 901820"], {
      env: { ...env, CONVO_DEFAULT_REGION: "DE" },
    });
    assert.equal(de.code, 0, de.stderr);
    assert.match(de.stdout, /^added sms \+4930901820 /);
  });
});

Deno.test("convo endpoint add: an address owned by another customer exits 2 naming the owner", async () => {
  await withTestDatabase(async ({ url, sql }) => {
    const env = await migratedEnv(url);
    const ok = await add(
      env,
      "--customer",
      "acme",
      "--provider",
      "pm",
      "--kind",
      "email",
      "a@x.io",
    );
    assert.equal(ok.code, 0, ok.stderr);
    const r = await add(
      env,
      "--customer",
      "globex",
      "--provider",
      "pm",
      "--kind",
      "email",
      "A@X.io",
    );
    assert.equal(r.code, 2);
    assert.equal(r.stdout, "");
    assert.match(
      r.stderr,
      /^error: email a@x\.io is already mapped to customer acme \(provider pm\)/,
    );
    assert.equal((await sql`select 1 from customers where name = 'globex'`).length, 0);
  });
});

Deno.test("convo endpoint add: a bad address exits 2 with the value and the reason", async () => {
  await withTestDatabase(async ({ url }) => {
    const env = await migratedEnv(url);
    const base = ["--customer", "acme", "--provider", "twilio"];
    const phone = await add(env, ...base, "--kind", "sms", "+1 (415) 555");
    assert.equal(phone.code, 2);
    assert.match(
      phone.stderr,
      /^error: Cannot parse phone number: current value is '\+1 \(415\) 555' \(not a possible international number\); /,
    );
    assert.match(phone.stderr, /or national with --region\), a short code or a sender id/);
    const email = await add(env, ...base, "--kind", "email", "support.example.com");
    assert.equal(email.code, 2);
    assert.match(email.stderr, /current value is 'support\.example\.com' \(no '@'\)/);
    assert.match(email.stderr, /give an email address such as support@example\.com/);
  });
});

Deno.test("convo endpoint add: flag mistakes exit 2 without touching the database", async () => {
  // No DATABASE_URL pointing anywhere useful: these must fail before connecting.
  const env = { DATABASE_URL: "postgres://nobody@127.0.0.1:1/none" };
  const cases: [string[], RegExp][] = [
    [["--customer", "a", "--provider", "p", "--kind", "fax", "1"], /--kind.*fax.*sms, mms, email/],
    [["--customer", "a", "--kind", "sms", "1"], /required option '--provider <name>'/],
    [
      ["--customer", "a", "--provider", "p", "--kind", "sms"],
      /missing required argument 'address'/,
    ],
    [
      ["--customer", "a", "--provider", "p", "--kind", "sms", "--region", "XX", "1"],
      /--region.*'XX'/,
    ],
  ];
  for (const [args, message] of cases) {
    const r = await add(env, ...args);
    assert.equal(r.code, 2, args.join(" "));
    assert.match(r.stderr, message);
  }
});

Deno.test("convo endpoint list: table, json, ndjson and csv; --customer filters", async () => {
  await withTestDatabase(async ({ url }) => {
    const env = await migratedEnv(url);
    const empty = await runCli(["endpoint", "list"], { env });
    assert.equal(empty.code, 0, empty.stderr);
    assert.equal(empty.stdout, "no endpoints; add one with convo endpoint add\n");
    const emptyCsv = await runCli(["endpoint", "list", "--format", "csv"], { env });
    assert.equal(
      emptyCsv.stdout,
      "customer,provider,kind,address,normalized,key,key_hex,created_at\n",
    );

    for (
      const args of [
        ["--customer", "acme", "--provider", "twilio", "--kind", "sms", "+14155550100"],
        ["--customer", "acme", "--provider", "postmark", "--kind", "email", "Help+x@Acme.test"],
        ["--customer", "globex", "--provider", "twilio", "--kind", "sms", "+14155550199"],
      ]
    ) {
      const r = await add(env, ...args);
      assert.equal(r.code, 0, r.stderr);
    }

    const table = await runCli(["endpoint", "list"], { env });
    assert.equal(table.code, 0, table.stderr);
    const lines = table.stdout.trimEnd().split("\n");
    assert.match(
      lines[0],
      /^CUSTOMER +PROVIDER +KIND +ADDRESS +NORMALIZED +KEY +KEY HEX +CREATED AT$/,
    );
    assert.equal(lines.length, 4);
    assert.match(lines[1], /^acme +postmark +email +Help\+x@Acme\.test +help@acme\.test +-?\d+ /);
    assert.match(lines[2], /^acme +twilio +sms +\+14155550100 +\+14155550100 /);
    assert.match(lines[3], /^globex +twilio +sms /);
    // Aligned: every column starts where its header does.
    const at = lines[0].indexOf("NORMALIZED");
    for (const line of lines.slice(1)) assert.match(line.slice(at), /^(help@|\+1)/);

    const json = await runCli(["endpoint", "list", "--format", "json", "--customer", "acme"], {
      env,
    });
    assert.equal(json.code, 0, json.stderr);
    const docs = JSON.parse(json.stdout);
    assert.equal(docs.length, 2);
    assert.deepEqual(Object.keys(docs[0]), [
      "customer",
      "provider",
      "kind",
      "address",
      "normalized",
      "key",
      "key_hex",
      "created_at",
    ]);
    assert.equal(docs[0].key, hash64("help@acme.test").toString());
    assert.equal(docs[0].key_hex, hashHex(hash64("help@acme.test")));
    assert.equal(
      docs[0].key_hex,
      BigInt.asUintN(64, BigInt(docs[0].key)).toString(16).padStart(16, "0"),
    );
    assert.match(docs[0].created_at, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);

    const ndjson = await runCli(["endpoint", "list", "--format", "ndjson"], { env });
    const objects = ndjson.stdout.trimEnd().split("\n").map((l) => JSON.parse(l));
    assert.deepEqual(objects.map((o) => o.customer), ["acme", "acme", "globex"]);

    const csv = await runCli(["endpoint", "list", "--format", "csv", "--customer", "globex"], {
      env,
    });
    const [header, row, end] = csv.stdout.split("\n");
    assert.equal(header, "customer,provider,kind,address,normalized,key,key_hex,created_at");
    assert.match(row, /^globex,twilio,sms,\+14155550199,\+14155550199,-?\d+,[0-9a-f]{16},\d{4}-/);
    assert.equal(end, "");

    const unknown = await runCli(["endpoint", "list", "--customer", "initech"], { env });
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /no customer named "initech"/);
    assert.match(unknown.stderr, /convo endpoint list shows every customer's endpoints/);

    const badFormat = await runCli(["endpoint", "list", "--format", "xml"], { env });
    assert.equal(badFormat.code, 2);
    assert.match(badFormat.stderr, /table, json, ndjson, csv/);
  });
});
