import assert from "node:assert/strict";
import { createLogger } from "../../src/log/logger.ts";
import { embeddedMigrations } from "../../src/migrate/embedded.ts";
import { migrateUp } from "../../src/migrate/runner.ts";
import { runCli } from "../_helpers/cli.ts";
import { withTestDatabase } from "../_helpers/db.ts";
import {
  FIXTURE_ENDPOINTS,
  insertEvent,
  seedEndpoints,
  withMigratedDatabase,
} from "../_helpers/seed.ts";

const names = (stdout: string) => stdout.trim().split("\n").map((l) => l.slice(0, 15).trimEnd());

Deno.test("convo check passes on a migrated database with endpoints and a fresh queue", async () => {
  await withMigratedDatabase(async ({ url, sql }) => {
    await seedEndpoints(sql, FIXTURE_ENDPOINTS);
    await insertEvent(sql, { status: "pending", receivedAgo: "1 minute" });
    const r = await runCli(["check"], { env: { DATABASE_URL: url } });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.deepEqual(names(r.stdout), [
      "ok   database",
      "ok   schema",
      "ok   endpoints",
      "ok   queue-age",
      "ok   dead",
    ]);
    assert.match(r.stdout, /^ok {3}database {3}reachable \(PostgreSQL \d+\.\d+, \d+ ms\)$/m);
    assert.match(r.stdout, /^ok {3}endpoints {2}2 mapping\(s\)$/m);
    assert.match(r.stdout, /^ok {3}queue-age {2}oldest pending 1m0\ds ≤ 15m00s$/m);
  });
});

Deno.test("convo check fails on a pending migration, exit 1", async () => {
  await withTestDatabase(async ({ url, sql }) => {
    const migrations = await embeddedMigrations();
    await migrateUp(sql, migrations, {
      target: migrations.at(-2)!.version,
      logger: createLogger({ level: "error", write: () => {} }),
    });
    await seedEndpoints(sql, FIXTURE_ENDPOINTS);
    const r = await runCli(["check"], { env: { DATABASE_URL: url } });
    assert.equal(r.code, 1);
    assert.match(
      r.stdout,
      new RegExp(
        `^FAIL schema     1 migration\\(s\\) pending, first ${
          migrations.at(-1)!.versionText
        } .*; run convo migrate up$`,
        "m",
      ),
    );
    assert.match(r.stdout, /^ok {3}endpoints/m);
  });
});

Deno.test("convo check fails on a stale queue and on dead over --max-dead; --json says which", async () => {
  await withMigratedDatabase(async ({ url, sql }) => {
    await seedEndpoints(sql, FIXTURE_ENDPOINTS);
    await insertEvent(sql, { status: "pending", receivedAgo: "2 hours" });
    for (let i = 0; i < 3; i++) await insertEvent(sql, { status: "dead", lastError: "x" });
    const env = { DATABASE_URL: url };

    const stale = await runCli(["check"], { env });
    assert.equal(stale.code, 1);
    assert.match(stale.stdout, /^FAIL queue-age {2}oldest pending 2h00m > 15m00s; /m);
    assert.match(stale.stdout, /^ok {3}dead {7}3 dead \(no limit/m);

    const relaxed = await runCli(["check", "--max-queue-age", "3h", "--max-dead", "3"], { env });
    assert.equal(relaxed.code, 0, relaxed.stdout);

    const dead = await runCli(["check", "--max-queue-age", "0", "--max-dead", "2", "--json"], {
      env,
    });
    assert.equal(dead.code, 1);
    const doc = JSON.parse(dead.stdout);
    assert.equal(doc.ok, false);
    assert.deepEqual(doc.checks.map((c: { name: string }) => c.name), [
      "database",
      "schema",
      "endpoints",
      "queue-age",
      "dead",
    ]);
    const byName = Object.fromEntries(doc.checks.map((c: { name: string }) => [c.name, c]));
    assert.equal(byName.dead.status, "fail");
    assert.equal(byName.dead.value, 3);
    assert.equal(byName.dead.limit, 2);
    assert.equal(byName["queue-age"].status, "ok");
  });
});

Deno.test("convo check with no endpoints, an unreachable database, or a bad flag", async () => {
  await withMigratedDatabase(async ({ url }) => {
    const r = await runCli(["check", "--json"], { env: { DATABASE_URL: url } });
    assert.equal(r.code, 1);
    const doc = JSON.parse(r.stdout);
    assert.equal(doc.checks[2].status, "fail");
    assert.match(doc.checks[2].detail, /convo endpoint add/);
  });
  const down = await runCli(["check"], { env: { DATABASE_URL: "postgres://u:pw@127.0.0.1:1/x" } });
  assert.equal(down.code, 1);
  assert.match(
    down.stdout,
    /^FAIL database {3}cannot connect to 127\.0\.0\.1:1: connection refused/m,
  );
  assert.match(down.stdout, /^skip schema {5}database unreachable$/m);
  assert.doesNotMatch(down.stdout, /pw/);
  const bad = await runCli(["check", "--max-dead", "-1"], {
    env: { DATABASE_URL: "postgres://h/x" },
  });
  assert.equal(bad.code, 2);
});
