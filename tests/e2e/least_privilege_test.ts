/**
 * The roles README's "Roles: least privilege" documents, with exactly its SQL:
 * the owner migrates, the worker enqueues and drains, the reader reads, and
 * none of them can do more. Roles are cluster-wide: unique names, dropped
 * afterwards.
 */
import assert from "node:assert/strict";
import postgres from "postgres";
import { ROOT_DIR, runCli } from "../_helpers/cli.ts";
import { TEST_DATABASE_URL } from "../_helpers/db.ts";
import { hash64 } from "../../src/normalize/hash.ts";
import { generateDemoEvents } from "../fixtures/demo/generate.ts";

/** The SQL block of README that starts with `-- convo: <name>`, as statements. */
async function readmeSql(name: string, names: Record<string, string>): Promise<string[]> {
  const readme = await Deno.readTextFile(`${ROOT_DIR}README.md`);
  const block = new RegExp("```sql\\n-- convo: " + name + "\\n([\\s\\S]*?)```").exec(readme);
  assert.ok(block, `README has no sql block '-- convo: ${name}'`);
  let text = block[1].replace(/--.*$/gm, "");
  for (const [from, to] of Object.entries(names)) {
    text = text.replace(new RegExp(`\\b${from}\\b`, "g"), to);
  }
  return text.split(/;\s*$/m).map((s) => s.trim()).filter((s) => s !== "");
}

function urlAs(role: string, database: string): string {
  const u = new URL(TEST_DATABASE_URL);
  u.username = role;
  u.password = "";
  u.pathname = `/${database}`;
  return u.toString();
}

async function refused(sql: postgres.Sql, statement: string): Promise<void> {
  await assert.rejects(
    () => sql.unsafe(statement),
    (err: { code?: string }) => err.code === "42501",
    `should be refused: ${statement}`,
  );
}

Deno.test("README's roles: migrate up as the owner, enqueue and work --drain as the worker, read as the reader", async () => {
  const suffix = crypto.randomUUID().replaceAll("-", "").slice(0, 12);
  const names = {
    convo_owner: `convo_owner_${suffix}`,
    convo_worker: `convo_worker_${suffix}`,
    convo_reader: `convo_reader_${suffix}`,
    convo: `convo_lp_${suffix}`,
  };
  const db = names.convo;
  const admin = postgres(TEST_DATABASE_URL, { max: 1, onnotice: () => {} });
  const clients: postgres.Sql[] = [];
  const as = (role: string) => {
    const sql = postgres(urlAs(role, db), { max: 1, onnotice: () => {} });
    clients.push(sql);
    return sql;
  };
  try {
    for (const statement of await readmeSql("roles", names)) await admin.unsafe(statement);
    const env = (role: string) => ({ DATABASE_URL: urlAs(role, db) });

    const up = await runCli(["migrate", "up"], { env: env(names.convo_owner) });
    assert.equal(up.code, 0, up.stderr);
    // Before the grants the worker can do nothing: the test does not pass on
    // privileges that come from elsewhere.
    const early = await runCli(["enqueue", `${ROOT_DIR}tests/fixtures/demo/events.ndjson`], {
      env: env(names.convo_worker),
    });
    assert.notEqual(early.code, 0, early.stdout);
    assert.match(early.stderr, /permission denied/);
    const owner = as(names.convo_owner);
    for (const statement of await readmeSql("grants", names)) await owner.unsafe(statement);
    for (
      const args of [
        ["--customer", "acme", "--provider", "twilio", "--kind", "sms", "+14155550100"],
        ["--customer", "acme", "--provider", "postmark", "--kind", "email", "support@example.org"],
        ["--customer", "bloom", "--provider", "twilio", "--kind", "sms", "+14155550190"],
      ]
    ) {
      const r = await runCli(["endpoint", "add", ...args], { env: env(names.convo_owner) });
      assert.equal(r.code, 0, r.stderr);
    }

    const worker = env(names.convo_worker);
    const enqueue = await runCli(["enqueue", `${ROOT_DIR}tests/fixtures/demo/events.ndjson`], {
      env: worker,
    });
    assert.equal(enqueue.code, 0, enqueue.stderr);
    const { expected } = generateDemoEvents();
    assert.match(
      enqueue.stdout,
      new RegExp(`stored ${expected.stored}, duplicates ${expected.duplicates}, invalid 0`),
    );
    // A pre-claimed key (a row under a contact's hash64 key holding another number): the
    // worker reads the secret of fallback keys to store the contact all the same.
    const key = hash64("+14155550143").toString();
    await owner`insert into phone_numbers (id, raw, e164, hash)
      values (${key}::bigint, 'x', '+14155550999', ${key}::bigint)`;
    const work = await runCli(["work", "--drain"], { env: worker });
    assert.equal(work.code, 0, work.stderr);
    assert.match(
      work.stdout,
      new RegExp(
        `claimed ${expected.stored}, done ${expected.done}, retried 0, dead ${expected.dead}; ` +
          `inserted ${expected.messages} message`,
      ),
    );
    const [moved] = await owner<{ id: string }[]>`
      select id::text from phone_numbers where e164 = '+14155550143'`;
    assert.notEqual(moved.id, key, "stored under its fallback key");
    const again = await runCli(["enqueue", `${ROOT_DIR}tests/fixtures/demo/events.ndjson`], {
      env: worker,
    });
    assert.match(again.stdout, new RegExp(`stored 0, duplicates ${expected.lines}`));

    const reader = env(names.convo_reader);
    const status = await runCli(["queue", "status"], { env: reader });
    assert.equal(status.code, 0, status.stderr);
    const readerSql = as(names.convo_reader);
    const [{ n }] = await readerSql<{ n: number }[]>`
      select count(*)::int as n from conversation_overview`;
    assert.ok(n > 0);

    const workerSql = as(names.convo_worker);
    await refused(workerSql, "create table intruder (a int)");
    await refused(workerSql, "drop table messages");
    await refused(workerSql, "alter table messages add column x int");
    await refused(workerSql, "delete from messages");
    await refused(workerSql, "truncate inbound_events");
    await refused(workerSql, "delete from inbound_events");
    await refused(workerSql, "insert into endpoint_mappings select * from endpoint_mappings");
    await refused(workerSql, "update customers set name = name");
    await refused(workerSql, "select * from _sqlx_migrations");
    await refused(readerSql, "insert into customers (name) values ('x')");
    await refused(readerSql, "update inbound_events set attempts = 0");
    await refused(readerSql, "create table intruder (a int)");
    await refused(readerSql, "select secret from convo_key_secret");
    await refused(workerSql, "update convo_key_secret set secret = 'known'");
  } finally {
    await Promise.all(clients.map((c) => c.end({ timeout: 5 })));
    await admin.unsafe(`drop database if exists ${db} with (force)`);
    for (const role of [names.convo_owner, names.convo_worker, names.convo_reader]) {
      await admin.unsafe(`drop role if exists ${role}`);
    }
    await admin.end();
  }
});
