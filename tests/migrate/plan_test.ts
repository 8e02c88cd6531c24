import assert from "node:assert/strict";
import { ConvoError, UsageError } from "../../src/errors.ts";
import { loadMigrations, type Migration } from "../../src/migrate/parse.ts";
import { type AppliedRow, compareLedger, planDown, planUp } from "../../src/migrate/plan.ts";

const enc = new TextEncoder();

async function program(): Promise<Migration[]> {
  return await loadMigrations([
    { name: "0001_a.up.sql", bytes: enc.encode("create table a (x int);") },
    { name: "0001_a.down.sql", bytes: enc.encode("drop table a;") },
    { name: "0002_b.up.sql", bytes: enc.encode("create table b (x int);") },
    { name: "0002_b.down.sql", bytes: enc.encode("drop table b;") },
    { name: "0003_c.sql", bytes: enc.encode("create table c (x int);") },
  ]);
}

function row(m: Migration, over: Partial<AppliedRow> = {}): AppliedRow {
  return {
    version: m.version,
    description: m.description,
    installedOn: new Date(0),
    success: true,
    checksum: m.up.checksum,
    executionTime: 1_000_000n,
    ...over,
  };
}

Deno.test("compareLedger() reports applied, pending, changed, missing and failed", async () => {
  const [a, b, c] = await program();
  const entries = compareLedger([a, b, c], [
    row(a),
    row(b, { checksum: new Uint8Array(48) }),
    { ...row(a), version: 9n, description: "gone" },
  ]);
  assert.deepEqual(entries.map((e) => [e.versionText, e.state]), [
    ["0001", "applied"],
    ["0002", "changed"],
    ["0003", "pending"],
    ["9", "missing"],
  ]);
  assert.equal(entries[0].executionMs, 1);
  const failed = compareLedger([a], [row(a, { success: false })]);
  assert.equal(failed[0].state, "failed");
});

Deno.test("planUp() applies every pending version in order, or up to --target", async () => {
  const ms = await program();
  assert.deepEqual(planUp(ms, []).apply.map((m) => m.versionText), ["0001", "0002", "0003"]);
  assert.deepEqual(planUp(ms, [row(ms[0])]).apply.map((m) => m.versionText), ["0002", "0003"]);
  assert.deepEqual(planUp(ms, [], { target: 2n }).apply.map((m) => m.versionText), [
    "0001",
    "0002",
  ]);
  assert.equal(planUp(ms, ms.map((m) => row(m))).apply.length, 0);
  assert.throws(() => planUp(ms, [], { target: 7n }), UsageError);
});

Deno.test("planUp() refuses a changed migration, naming it and both checksums", async () => {
  const ms = await program();
  const bad = new Uint8Array(48).fill(0xab);
  assert.throws(
    () => planUp(ms, [row(ms[0]), row(ms[1], { checksum: bad })]),
    (err: ConvoError) =>
      err instanceof ConvoError && err.message.includes("0002 (b)") &&
      err.message.includes("ab".repeat(48)) &&
      err.message.includes(
        Array.from(ms[1].up.checksum, (x) => x.toString(16).padStart(2, "0")).join(""),
      ),
  );
});

Deno.test("planUp() refuses an applied version missing from the program unless told to ignore it", async () => {
  const ms = await program();
  const ghost: AppliedRow = { ...row(ms[0]), version: 4n, description: "ghost" };
  assert.throws(() => planUp(ms, [ghost]), /4 \(ghost\) is applied but not known/);
  assert.equal(planUp(ms, [ghost], { ignoreMissing: true }).apply.length, 3);
});

Deno.test("planUp() refuses a ledger row marked failed", async () => {
  const ms = await program();
  assert.throws(() => planUp(ms, [row(ms[0], { success: false })]), /marked failed/);
});

Deno.test("planUp() applies an out-of-order version with a warning, refuses it with strict", async () => {
  const ms = await program();
  const p = planUp(ms, [row(ms[0]), row(ms[2])]);
  assert.deepEqual(p.apply.map((m) => m.versionText), ["0002"]);
  assert.deepEqual(p.outOfOrder.map((m) => m.versionText), ["0002"]);
  assert.throws(() => planUp(ms, [row(ms[0]), row(ms[2])], { strict: true }), /older than/);
});

Deno.test("planDown() reverts the newest by default, --steps N, or down to --target", async () => {
  const [a, b] = await program();
  const two = [a, b];
  const applied = [row(a), row(b)];
  assert.deepEqual(planDown(two, applied).map((m) => m.versionText), ["0002"]);
  assert.deepEqual(planDown(two, applied, { steps: 5 }).map((m) => m.versionText), [
    "0002",
    "0001",
  ]);
  assert.deepEqual(planDown(two, applied, { target: 0n }).map((m) => m.versionText), [
    "0002",
    "0001",
  ]);
  assert.deepEqual(planDown(two, applied, { target: 1n }).map((m) => m.versionText), ["0002"]);
  assert.throws(() => planDown(two, applied, { target: 1n, steps: 1 }), UsageError);
});

Deno.test("planDown() refuses to start when a version to revert has no down file", async () => {
  const ms = await program();
  const applied = ms.map((m) => row(m));
  assert.throws(
    () => planDown(ms, applied, { target: 0n }),
    (err: Error) => err.message.includes("0003 (c)") && err.message.includes(".down.sql"),
  );
});
