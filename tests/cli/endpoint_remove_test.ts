/**
 * `convo endpoint add`'s provider-kind and name checks, and `convo endpoint
 * remove`, in-process against a real PostgreSQL.
 */
import assert from "node:assert/strict";
import { migratedEnv, runCli } from "../_helpers/cli.ts";
import { withTestDatabase } from "../_helpers/db.ts";
import { seedEvents, smsLine } from "../_helpers/seed.ts";

const add = (env: Record<string, string>, ...args: string[]) =>
  runCli(["endpoint", "add", ...args], { env });

Deno.test("convo endpoint add: a kind the existing provider does not serve exits 2, creating nothing", async () => {
  await withTestDatabase(async ({ url, sql }) => {
    const env = await migratedEnv(url);
    const base = ["--customer", "acme", "--provider", "twilio"];
    assert.equal((await add(env, ...base, "--kind", "sms", "+14155550100")).code, 0);
    // mms is the same family as sms.
    assert.equal((await add(env, ...base, "--kind", "mms", "+14155550101")).code, 0);
    const r = await add(env, ...base, "--kind", "email", "support@example.org");
    assert.equal(r.code, 2);
    assert.equal(r.stdout, "");
    assert.equal(
      r.stderr,
      "error: provider twilio of customer acme is an sms provider; it cannot take an email " +
        "endpoint; give --provider a provider of kind email (a new name creates one); " +
        "convo endpoint list shows which provider serves what\n",
    );
    const back = await add(
      env,
      "--customer",
      "acme",
      "--provider",
      "postmark",
      "--kind",
      "email",
      "support@example.org",
    );
    assert.equal(back.code, 0, back.stderr);
    const wrong = await add(
      env,
      "--customer",
      "acme",
      "--provider",
      "postmark",
      "--kind",
      "sms",
      "+14155550102",
    );
    assert.equal(wrong.code, 2);
    assert.match(wrong.stderr, /^error: provider postmark of customer acme is an email provider;/);
    const mappings = await sql`select normalized from endpoint_mappings order by id`;
    assert.deepEqual(mappings.map((m) => m.normalized), [
      "+14155550100",
      "+14155550101",
      "support@example.org",
    ]);
    assert.equal((await sql`select 1 from email_addresses`).length, 1);
  });
});

Deno.test("convo endpoint add: customer and provider names are 1–100 characters without control characters", async () => {
  await withTestDatabase(async ({ url, sql }) => {
    const env = await migratedEnv(url);
    const long = "a".repeat(101);
    const cases: [string, string, RegExp][] = [
      [
        long,
        "twilio",
        /^error: invalid customer name: current value is "a{40}"…; names are at most 100 characters \(this one has 101\)\n$/,
      ],
      [
        "acme",
        long,
        /^error: invalid provider name: current value is "a{40}"…; names are at most 100/,
      ],
      [
        "  ",
        "twilio",
        /^error: invalid customer name: current value is " {2}"; give a non-empty name\n$/,
      ],
      [
        "ac\tme",
        "twilio",
        /^error: invalid customer name: current value is "ac\\tme"; names cannot hold control characters\n$/,
      ],
    ];
    for (const [customer, provider, message] of cases) {
      const r = await add(
        env,
        "--customer",
        customer,
        "--provider",
        provider,
        "--kind",
        "sms",
        "+14155550100",
      );
      assert.equal(r.code, 2, customer);
      assert.match(r.stderr, message);
    }
    assert.equal((await sql`select 1 from customers`).length, 0);
    // 100 characters, emoji counted as one each, is fine.
    const ok = await add(
      env,
      "--customer",
      "😀".repeat(100),
      "--provider",
      "twilio",
      "--kind",
      "sms",
      "+14155550100",
    );
    assert.equal(ok.code, 0, ok.stderr);
  });
});

Deno.test("convo endpoint remove: deletes the mapping only, says so; events to it then dead-letter", async () => {
  await withTestDatabase(async ({ url, sql }) => {
    const env = await migratedEnv(url);
    const base = ["--customer", "acme", "--provider", "twilio"];
    assert.equal((await add(env, ...base, "--kind", "sms", "+14155550100")).code, 0);
    assert.equal((await add(env, ...base, "--kind", "mms", "+14155550100")).code, 0);
    await seedEvents(sql, [smsLine("SM1")]);
    assert.equal((await runCli(["work", "--drain"], { env })).code, 0);
    assert.equal((await sql`select 1 from messages`).length, 1);

    const dry = await runCli(["endpoint", "remove", "(415) 555-0100", "--dry-run"], { env });
    assert.equal(dry.code, 0, dry.stderr);
    assert.equal(
      dry.stdout,
      "would remove mms +14155550100 of customer acme (provider twilio)\n" +
        "would remove sms +14155550100 of customer acme (provider twilio)\n" +
        "nothing was changed\n",
    );
    assert.equal((await sql`select 1 from endpoint_mappings`).length, 2);

    const other = await runCli(["endpoint", "remove", "+14155550100", "--customer", "globex"], {
      env,
    });
    assert.equal(other.code, 2);
    assert.equal(
      other.stderr,
      "error: no sms or mms endpoint mapping for +14155550100 of customer globex; " +
        "convo endpoint list shows the mapped addresses\n",
    );

    const mms = await runCli(["endpoint", "remove", "+1 415 555 0100", "--kind", "mms"], { env });
    assert.equal(mms.stdout, "removed mms +14155550100 of customer acme (provider twilio)\n");
    const r = await runCli(["endpoint", "remove", "4155550100", "--customer", "acme"], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "removed sms +14155550100 of customer acme (provider twilio)\n");
    assert.equal((await sql`select 1 from endpoint_mappings`).length, 0);
    // What ingest wrote stays.
    for (const table of ["messages", "conversations", "contacts", "customers", "providers"]) {
      assert.ok((await sql`select 1 from ${sql(table)}`).length > 0, table);
    }

    const again = await runCli(["endpoint", "remove", "+14155550100"], { env });
    assert.equal(again.code, 2);
    assert.match(again.stderr, /^error: no sms or mms endpoint mapping for \+14155550100; /);

    await seedEvents(sql, [smsLine("SM2")]);
    assert.equal((await runCli(["work", "--drain"], { env })).code, 0);
    const [dead] = await sql`
      select status, last_error from inbound_events
      where payload->>'provider_message_id' = 'SM2'`;
    assert.equal(dead.status, "dead");
    assert.match(dead.last_error, /^no endpoint mapping for the recipient/);
  });
});

Deno.test("convo endpoint remove: a bad address or flag exits 2 with one line", async () => {
  const env = { DATABASE_URL: "postgres://nobody@127.0.0.1:1/none" };
  const cases: [string[], RegExp][] = [
    [["nope@"], /^error: Cannot parse email address: current value is 'nope@'/],
    [["+1 (415) 555"], /^error: Cannot parse phone number: current value is '\+1 \(415\) 555'/],
    [["+14155550100", "--kind", "fax"], /--kind.*fax/],
    [["+14155550100", "--region", "XX"], /invalid --region/],
    [[], /missing required argument 'address'/],
  ];
  for (const [args, message] of cases) {
    const r = await runCli(["endpoint", "remove", ...args], { env });
    assert.equal(r.code, 2, args.join(" "));
    assert.match(r.stderr, message, args.join(" "));
    assert.equal(r.stderr.trimEnd().split("\n").length, 1, r.stderr);
  }
});
