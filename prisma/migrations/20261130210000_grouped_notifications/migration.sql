-- Grouped notifications: a private send with a groupKey takes the place, in each recipient's
-- inbox, of their newest earlier one with the same category and groupKey that they have not
-- archived. The earlier one is folded: its receipt goes (so it is neither listed nor counted for
-- that user; other recipients keep theirs), and the new receipt stands for both (groupCount).
ALTER TABLE "Notification" ADD COLUMN "groupKey" TEXT;
ALTER TABLE "Receipt" ADD COLUMN "groupKey" TEXT;
ALTER TABLE "Receipt" ADD COLUMN "groupCount" INTEGER NOT NULL DEFAULT 1;

-- A send finds the earlier one per (user, groupKey) here (then checks its category): only
-- grouped receipts not archived, so a few rows per key.
CREATE INDEX "Receipt_group_idx" ON "Receipt" ("userId", "groupKey")
  WHERE "groupKey" IS NOT NULL AND "archivedAt" IS NULL;
