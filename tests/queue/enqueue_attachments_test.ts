import assert from "node:assert/strict";
import { enqueue } from "../../src/queue/enqueue.ts";
import { withMigratedDatabase } from "../_helpers/seed.ts";

const enc = new TextEncoder();
const stream = (text: string) =>
  new ReadableStream<Uint8Array>({
    start(c) {
      c.enqueue(enc.encode(text));
      c.close();
    },
  });

/** A Postmark inbound mail with a PDF of `pdfBytes` bytes, base64 as Postmark sends it. */
function postmarkLine(id: string, pdfBytes: number, extra: Record<string, unknown> = {}): string {
  const content = btoa("%PDF-1.4 " + "x".repeat(pdfBytes - 9));
  return JSON.stringify({
    event_type: "postmark.inbound",
    payload: {
      MessageID: id,
      From: "jane@example.com",
      To: "support@example.org",
      Subject: "Invoice",
      TextBody: "Please find the invoice attached.",
      Attachments: [{
        Name: "invoice.pdf",
        Content: content,
        ContentType: "application/pdf",
        ContentLength: pdfBytes,
        ContentID: "",
      }],
      ...extra,
    },
  });
}

Deno.test("enqueue() stores a Postmark mail with a 200 KB PDF under the 256 KiB cap, without the base64", async () => {
  await withMigratedDatabase(async ({ sql }) => {
    const line = postmarkLine("pm-1", 200_000);
    assert.ok(enc.encode(line).length > 262_144, "the line itself is over the cap");
    const invalid: string[] = [];
    const summary = await enqueue(sql, [{ name: "in", stream: stream(line + "\n") }], {
      maxPayloadBytes: 262_144,
      onInvalid: (l) => invalid.push(l.reason),
    });
    assert.deepEqual(invalid, []);
    assert.equal(summary.stored, 1);
    const [row] = await sql`
      select payload->'Attachments' as a, octet_length(payload::text) as bytes from inbound_events`;
    assert.deepEqual(row.a, [{
      Name: "invoice.pdf",
      ContentType: "application/pdf",
      ContentLength: 200_000,
      ContentID: "",
    }]);
    assert.ok(row.bytes < 1000, `stored ${row.bytes} bytes`);
  });
});

Deno.test("enqueue() counts the cap on what is kept: a huge body is still refused", async () => {
  await withMigratedDatabase(async ({ sql }) => {
    const line = postmarkLine("pm-2", 1000, { TextBody: "y".repeat(300_000) });
    const invalid: string[] = [];
    const summary = await enqueue(sql, [{ name: "in", stream: stream(line + "\n") }], {
      maxPayloadBytes: 262_144,
      onInvalid: (l) => invalid.push(l.reason),
    });
    assert.equal(summary.stored, 0);
    assert.match(
      invalid[0],
      /^line is \d+ bytes without attachment content, over the 262144-byte cap$/,
    );
  });
});
