-- A notification's receipts in user order, for support's paged notification(id) { receipts }: a
-- public notification may have one per user who saw it. Replaces the index on notificationId
-- alone, whose lookups (deletion, cascades) this one serves as well.
CREATE INDEX "Receipt_notificationId_userId_idx" ON "Receipt"("notificationId", "userId");
DROP INDEX "Receipt_notificationId_idx";
