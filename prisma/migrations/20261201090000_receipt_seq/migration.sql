-- A receipt carries its notification's seq, as it does requireAck, public and groupKey, so that a
-- user's history and unseen list walk that user's receipts newest first through an index: a page
-- reads a page's rows, however long the user's history and however many other users there are.
ALTER TABLE "Receipt" ADD COLUMN "seq" BIGINT;
UPDATE "Receipt" r SET "seq" = n.seq FROM "Notification" n WHERE n.id = r."notificationId";
ALTER TABLE "Receipt" ALTER COLUMN "seq" SET NOT NULL;

CREATE INDEX "Receipt_userId_seq_idx" ON "Receipt" ("userId", "seq");

DROP INDEX "Receipt_attention_idx";
CREATE INDEX "Receipt_attention_idx" ON "Receipt" ("userId", "seq")
  WHERE "archivedAt" IS NULL AND "snoozedUntil" IS NULL
    AND ("seenAt" IS NULL OR ("requireAck" AND "acknowledgedAt" IS NULL));
