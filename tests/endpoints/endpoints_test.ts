import assert from "node:assert/strict";
import { createClient, type Sql } from "../../src/db/connect.ts";
import { UsageError } from "../../src/errors.ts";
import { createRouter } from "../../src/endpoints/route.ts";
import { addEndpoint } from "../../src/endpoints/add.ts";
import { listEndpoints } from "../../src/endpoints/list.ts";
import { normalizeEndpoint } from "../../src/endpoints/normalize.ts";
import { createLogger } from "../../src/log/logger.ts";
import { hash64 } from "../../src/normalize/hash.ts";
import { withMigratedDatabase } from "../_helpers/seed.ts";

const logger = createLogger({ level: "error", write: () => {} });

async function counts(sql: Sql) {
  const [row] = await sql<
    { customers: bigint; providers: bigint; mappings: bigint; phones: bigint; emails: bigint }[]
  >`
    select (select count(*) from customers) as customers,
           (select count(*) from providers) as providers,
           (select count(*) from endpoint_mappings) as mappings,
           (select count(*) from phone_numbers) as phones,
           (select count(*) from email_addresses) as emails`;
  return Object.fromEntries(Object.entries(row).map(([k, v]) => [k, Number(v)]));
}

/** A second connection to the test database, as another convo process would have. */
function secondClient(url: string) {
  return createClient(url, {
    max: 1,
    applicationName: "convo tests 2",
    connectTimeoutSeconds: 5,
    logger,
  });
}

Deno.test("addEndpoint() adds customer, provider, address row and mapping, then reports exists", async () => {
  await withMigratedDatabase(async ({ sql }) => {
    const input = {
      customer: "acme",
      provider: "twilio",
      kind: "sms" as const,
      address: "+14155550100",
    };
    const first = await addEndpoint(sql, input);
    assert.equal(first.status, "added");
    assert.equal(first.customerCreated, true);
    assert.equal(first.providerCreated, true);
    assert.equal(first.normalized, "+14155550100");
    assert.equal(first.key, hash64("+14155550100"));

    const second = await addEndpoint(sql, input);
    assert.equal(second.status, "exists");
    assert.equal(second.customerCreated, false);
    assert.equal(second.providerCreated, false);
    assert.equal(second.customerId, first.customerId);
    assert.equal(second.providerId, first.providerId);
    assert.equal(second.mappingId, first.mappingId);
    assert.deepEqual(await counts(sql), {
      customers: 1,
      providers: 1,
      mappings: 1,
      phones: 1,
      emails: 0,
    });

    const [mapping] = await sql`select * from endpoint_mappings`;
    assert.equal(mapping.kind, "sms");
    assert.equal(mapping.address, "+14155550100");
    assert.equal(mapping.normalized, "+14155550100");
    assert.equal(mapping.hash, first.key);
    const [phone] = await sql`select * from phone_numbers`;
    assert.deepEqual(
      { id: phone.id, e164: phone.e164, hash: phone.hash },
      { id: first.key, e164: "+14155550100", hash: first.key },
    );
    const [provider] = await sql`select kind, name from providers`;
    assert.deepEqual({ ...provider }, { kind: "sms", name: "twilio" });
  });
});

Deno.test("addEndpoint() a second time changes nothing, not even identity sequences or updated_at", async () => {
  await withMigratedDatabase(async ({ sql }) => {
    const input = { customer: "acme", provider: "pm", kind: "email" as const, address: "a@x.com" };
    await addEndpoint(sql, input);
    const snapshot = () =>
      sql`
        select (select updated_at from customers) as c, (select updated_at from providers) as p,
               (select last_value from customers_id_seq) as cs,
               (select last_value from providers_id_seq) as ps,
               (select last_value from endpoint_mappings_id_seq) as ms`;
    const before = await snapshot();
    assert.equal((await addEndpoint(sql, input)).status, "exists");
    assert.deepEqual(await snapshot(), before);
  });
});

Deno.test("addEndpoint() maps formatted, national and E.164 forms of one number to one mapping", async () => {
  await withMigratedDatabase(async ({ sql }) => {
    const base = { customer: "acme", provider: "twilio", kind: "sms" as const };
    const a = await addEndpoint(sql, { ...base, address: "(415) 555-0100" });
    const b = await addEndpoint(sql, { ...base, address: "415.555.0100" });
    const c = await addEndpoint(sql, { ...base, address: "+1 415 555 0100" });
    const d = await addEndpoint(sql, { ...base, address: "tel:+14155550100" });
    assert.deepEqual([a.status, b.status, c.status, d.status], [
      "added",
      "exists",
      "exists",
      "exists",
    ]);
    assert.equal(new Set([a, b, c, d].map((r) => r.mappingId)).size, 1);
    // The address as first typed is what the mapping keeps.
    const [row] = await sql`select address, normalized from endpoint_mappings`;
    assert.deepEqual({ ...row }, { address: "(415) 555-0100", normalized: "+14155550100" });

    const gb = await addEndpoint(sql, { ...base, address: "020 7946 0958", region: "GB" });
    assert.equal(gb.normalized, "+442079460958");
  });
});

Deno.test("addEndpoint() maps mixed-case and +tagged forms of one email address to one mapping", async () => {
  await withMigratedDatabase(async ({ sql }) => {
    const base = { customer: "acme", provider: "postmark", kind: "email" as const };
    const a = await addEndpoint(sql, { ...base, address: "Support@Example.com" });
    const b = await addEndpoint(sql, { ...base, address: "support+web@EXAMPLE.COM" });
    const c = await addEndpoint(sql, {
      ...base,
      address: '"Acme Support" <SUPPORT+x@example.com>',
    });
    assert.equal(a.status, "added");
    assert.equal(b.status, "exists");
    assert.equal(c.status, "exists");
    assert.equal(a.normalized, "support@example.com");
    assert.deepEqual(await counts(sql), {
      customers: 1,
      providers: 1,
      mappings: 1,
      phones: 0,
      emails: 1,
    });
    const [email] = await sql`select lowered, raw from email_addresses`;
    assert.deepEqual({ ...email }, { lowered: "support@example.com", raw: "Support@Example.com" });
  });
});

Deno.test("addEndpoint() run concurrently on two connections: one mapping, both succeed", async () => {
  await withMigratedDatabase(async ({ sql, url }) => {
    const other = secondClient(url);
    try {
      for (let round = 0; round < 5; round++) {
        const input = {
          customer: `customer ${round}`,
          provider: "twilio",
          kind: "sms" as const,
          address: `+1415555010${round}`,
        };
        const results = await Promise.all([addEndpoint(sql, input), addEndpoint(other, input)]);
        assert.deepEqual(
          results.map((r) => r.status).sort(),
          ["added", "exists"],
          `round ${round}`,
        );
        assert.equal(results[0].mappingId, results[1].mappingId);
        assert.equal(results[0].customerId, results[1].customerId);
        assert.equal(results[0].providerId, results[1].providerId);
      }
      assert.deepEqual(await counts(sql), {
        customers: 5,
        providers: 5,
        mappings: 5,
        phones: 5,
        emails: 0,
      });
    } finally {
      await other.end();
    }
  });
});

Deno.test("addEndpoint() run concurrently for two customers: one wins, the other is told who owns it", async () => {
  await withMigratedDatabase(async ({ sql, url }) => {
    const other = secondClient(url);
    try {
      const base = { provider: "twilio", kind: "sms" as const, address: "+14155550100" };
      const results = await Promise.allSettled([
        addEndpoint(sql, { ...base, customer: "acme" }),
        addEndpoint(other, { ...base, customer: "globex" }),
      ]);
      const ok = results.filter((r) => r.status === "fulfilled");
      const refused = results.filter((r) => r.status === "rejected");
      assert.equal(ok.length, 1);
      assert.equal(refused.length, 1);
      const err = (refused[0] as PromiseRejectedResult).reason;
      assert.ok(err instanceof UsageError, String(err));
      // The loser's customer was rolled back with the rest.
      const names = (await sql`select name from customers`).map((r) => r.name);
      assert.equal(names.length, 1);
      assert.match(err.message, new RegExp(`already mapped to customer ${names[0]} `));
    } finally {
      await other.end();
    }
  });
});

Deno.test("addEndpoint() refuses an address mapped to another customer, naming it, and creates nothing", async () => {
  await withMigratedDatabase(async ({ sql }) => {
    await addEndpoint(sql, {
      customer: "acme",
      provider: "twilio",
      kind: "sms",
      address: "+14155550100",
    });
    const before = await counts(sql);
    await assert.rejects(
      () =>
        addEndpoint(sql, {
          customer: "globex",
          provider: "vonage",
          kind: "sms",
          address: "(415) 555-0100",
        }),
      (err: Error) => {
        assert.ok(err instanceof UsageError);
        assert.equal(
          err.message,
          "sms +14155550100 is already mapped to customer acme (provider twilio)",
        );
        return true;
      },
    );
    assert.deepEqual(await counts(sql), before);
    const seq = await sql`select last_value, is_called from customers_id_seq`;
    assert.equal(seq[0].last_value, 1n, "no customer id drawn for the refused add");
  });
});

Deno.test("addEndpoint() refuses an address mapped to the same customer under another provider", async () => {
  await withMigratedDatabase(async ({ sql }) => {
    const base = { customer: "acme", kind: "email" as const, address: "help@acme.test" };
    await addEndpoint(sql, { ...base, provider: "postmark" });
    await assert.rejects(
      () => addEndpoint(sql, { ...base, provider: "sendgrid" }),
      (err: Error) => {
        assert.ok(err instanceof UsageError);
        assert.equal(
          err.message,
          "email help@acme.test is already mapped to provider postmark of customer acme",
        );
        return true;
      },
    );
    assert.equal((await sql`select 1 from providers`).length, 1);
  });
});

Deno.test("addEndpoint() allows the same number as another kind (unique per kind)", async () => {
  await withMigratedDatabase(async ({ sql }) => {
    const base = { customer: "acme", provider: "twilio", address: "+14155550100" };
    const sms = await addEndpoint(sql, { ...base, kind: "sms" });
    const mms = await addEndpoint(sql, { ...base, kind: "mms" });
    assert.equal(mms.status, "added");
    assert.notEqual(mms.mappingId, sms.mappingId);
    assert.equal(mms.key, sms.key);
    // One dedup row for both: sms and mms are phone-side addresses.
    assert.equal((await sql`select 1 from phone_numbers`).length, 1);
  });
});

Deno.test("addEndpoint() keeps an existing provider's kind", async () => {
  await withMigratedDatabase(async ({ sql }) => {
    await addEndpoint(sql, {
      customer: "acme",
      provider: "twilio",
      kind: "sms",
      address: "+14155550100",
    });
    await addEndpoint(sql, {
      customer: "acme",
      provider: "twilio",
      kind: "mms",
      address: "+14155550101",
    });
    const rows = await sql`select kind from providers`;
    assert.deepEqual(rows.map((r) => r.kind), ["sms"]);
  });
});

Deno.test("addEndpoint() refuses a bad address with the value and the reason, writing nothing", async () => {
  await withMigratedDatabase(async ({ sql }) => {
    const cases: [kind: "sms" | "email", address: string, reason: RegExp][] = [
      ["sms", "12", /current value is '12' \(too short/],
      ["sms", "+1 (415) 555", /current value is '\+1 \(415\) 555' \(not a possible/],
      ["email", "support.example.com", /current value is 'support.example.com' \(no '@'\)/],
    ];
    for (const [kind, address, reason] of cases) {
      await assert.rejects(
        () => addEndpoint(sql, { customer: "acme", provider: "p", kind, address }),
        (err: Error) => {
          assert.ok(err instanceof UsageError, address);
          assert.match(err.message, reason);
          return true;
        },
      );
    }
    assert.equal((await sql`select 1 from customers`).length, 0);
  });
});

Deno.test("addEndpoint() refuses blank names and names with control characters; trims names", async () => {
  await withMigratedDatabase(async ({ sql }) => {
    const base = { kind: "sms" as const, address: "+14155550100" };
    for (
      const [customer, provider] of [[" ", "p"], ["acme", ""], ["a\nb", "p"], ["a", "p\x1b[31m"]]
    ) {
      await assert.rejects(
        () => addEndpoint(sql, { ...base, customer, provider }),
        UsageError,
        JSON.stringify([customer, provider]),
      );
    }
    const r = await addEndpoint(sql, { ...base, customer: "  acme ", provider: " twilio" });
    const again = await addEndpoint(sql, { ...base, customer: "acme", provider: "twilio" });
    assert.equal(again.status, "exists");
    assert.equal(again.customerId, r.customerId);
    assert.deepEqual((await sql`select name from customers`).map((x) => x.name), ["acme"]);
  });
});

Deno.test("addEndpoint() stores an address whose 64-bit key holds another under a fallback key, and it routes", async () => {
  await withMigratedDatabase(async ({ sql }) => {
    const key = hash64("+14155550100");
    // A stand-in for a real (or forged) collision: the key already holds another number.
    await sql`insert into phone_numbers (id, raw, e164, hash) values (${key}, 'x', '+19995550123', ${key})`;
    const add = () =>
      addEndpoint(sql, {
        customer: "acme",
        provider: "twilio",
        kind: "sms",
        address: "+14155550100",
      });
    const r = await add();
    assert.equal(r.status, "added");
    assert.notEqual(r.key, key);
    const [row] = await sql<{ e164: string }[]>`select e164 from phone_numbers where id = ${r.key}`;
    assert.equal(row.e164, "+14155550100");
    const [mapping] = await sql<{ hash: bigint }[]>`select hash from endpoint_mappings`;
    assert.equal(mapping.hash, r.key);
    // Adding it again finds the same row.
    const again = await add();
    assert.equal(again.status, "exists");
    assert.equal(again.key, r.key);
    assert.equal((await sql`select 1 from phone_numbers where e164 = '+14155550100'`).length, 1);
    // Routing goes by the normalized address, not by its key.
    const router = createRouter(sql);
    await router.load(["+14155550100"]);
    assert.deepEqual(router.routes("+14155550100").map((x) => x.customerId), [r.customerId]);
  });
});

Deno.test("listEndpoints() lists by customer, kind and normalized address, filtered by customer", async () => {
  await withMigratedDatabase(async ({ sql }) => {
    const add = (
      customer: string,
      provider: string,
      kind: "sms" | "mms" | "email",
      address: string,
    ) => addEndpoint(sql, { customer, provider, kind, address });
    await add("globex", "twilio", "sms", "+14155550199");
    await add("acme", "twilio", "sms", "+14155550101");
    await add("acme", "postmark", "email", "help@acme.test");
    await add("acme", "twilio", "sms", "+14155550100");
    await add("acme", "twilio", "mms", "+14155550100");

    const all = await listEndpoints(sql);
    assert.deepEqual(
      all.map((r) => [r.customer, r.kind, r.normalized, r.provider]),
      [
        ["acme", "email", "help@acme.test", "postmark"],
        ["acme", "mms", "+14155550100", "twilio"],
        ["acme", "sms", "+14155550100", "twilio"],
        ["acme", "sms", "+14155550101", "twilio"],
        ["globex", "sms", "+14155550199", "twilio"],
      ],
    );
    const first = all[0];
    assert.equal(first.key, hash64("help@acme.test"));
    // Data, not display: the hex form is the CLI's (tests/cli/endpoint_test.ts).
    assert.ok(!("key_hex" in first));
    assert.equal(first.address, "help@acme.test");
    assert.ok(first.created_at instanceof Date);
    assert.equal(typeof first.customer_id, "bigint");

    const globex = await listEndpoints(sql, { customer: "globex" });
    assert.deepEqual(globex.map((r) => r.normalized), ["+14155550199"]);

    await sql`insert into customers (name) values ('initech')`;
    assert.deepEqual(await listEndpoints(sql, { customer: "initech" }), []);
    await assert.rejects(() => listEndpoints(sql, { customer: "nobody" }), UsageError);
  });
});

Deno.test("normalizeEndpoint() turns normalizer errors into usage errors", () => {
  assert.equal(normalizeEndpoint("sms", "12345"), "sc:12345");
  assert.equal(normalizeEndpoint("sms", "Acme Bank"), "id:ACME BANK");
  assert.throws(() => normalizeEndpoint("sms", "+1 (415) 555"), UsageError);
  assert.throws(() => normalizeEndpoint("mms", "0791", "XX"), /Cannot use phone region/);
  assert.throws(
    () => normalizeEndpoint("fax" as "sms", "+14155550100"),
    /invalid endpoint kind: current value is 'fax'/,
  );
});

Deno.test("addEndpoint() refuses a number mapped as sms to one customer and mms to another", async () => {
  await withMigratedDatabase(async ({ sql }) => {
    await addEndpoint(sql, {
      customer: "acme",
      provider: "twilio",
      kind: "sms",
      address: "+14155550100",
    });
    await assert.rejects(
      () =>
        addEndpoint(sql, {
          customer: "globex",
          provider: "twilio",
          kind: "mms",
          address: "4155550100",
        }),
      (err: Error) =>
        err instanceof UsageError &&
        err.message === "mms +14155550100 is already mapped as sms to customer acme",
    );
    // The same customer may map it for both.
    const r = await addEndpoint(sql, {
      customer: "acme",
      provider: "twilio",
      kind: "mms",
      address: "+14155550100",
    });
    assert.equal(r.status, "added");
  });
});
