-- The inbox as people manage it: archive (dismiss, clear all), mark unseen, snooze. A user's own
-- state of a notification lives on their receipt; public notifications get one only when the
-- user acts on one, and archiveAll writes one position per (category, priority) instead.
ALTER TYPE "NotificationEventType" ADD VALUE 'ARCHIVED' BEFORE 'DIGEST';
ALTER TYPE "NotificationEventType" ADD VALUE 'UNARCHIVED' BEFORE 'DIGEST';
ALTER TYPE "NotificationEventType" ADD VALUE 'ALL_ARCHIVED' BEFORE 'DIGEST';
ALTER TYPE "NotificationEventType" ADD VALUE 'UNSEEN' BEFORE 'DIGEST';
ALTER TYPE "NotificationEventType" ADD VALUE 'SNOOZED' BEFORE 'DIGEST';
ALTER TYPE "NotificationEventType" ADD VALUE 'UNSNOOZED' BEFORE 'DIGEST';

ALTER TABLE "Receipt" ADD COLUMN "archivedAt" TIMESTAMPTZ(3);
ALTER TABLE "Receipt" ADD COLUMN "snoozedUntil" TIMESTAMPTZ(3);
ALTER TABLE "Receipt" ADD COLUMN "updatedAt" TIMESTAMPTZ(3) NOT NULL DEFAULT now();

-- The user's state right before and after a receipt event, so that a replay moves a live count
-- by what the event did, not by what the receipt says now.
ALTER TABLE "Event" ADD COLUMN "state" JSONB;

-- Archived and snoozed receipts no longer need attention: counting does not walk them.
DROP INDEX "Receipt_attention_idx";
CREATE INDEX "Receipt_attention_idx" ON "Receipt" ("userId")
  WHERE "archivedAt" IS NULL AND "snoozedUntil" IS NULL
    AND ("seenAt" IS NULL OR ("requireAck" AND "acknowledgedAt" IS NULL));

-- The waker takes the snoozes that are due, earliest first, from here.
CREATE INDEX "Receipt_snoozedUntil_idx" ON "Receipt" ("snoozedUntil")
  WHERE "snoozedUntil" IS NOT NULL;

CREATE TABLE "ArchivePosition" (
    "userId" TEXT NOT NULL,
    "categoryName" TEXT NOT NULL,
    "priority" "NotificationPriority" NOT NULL,
    "seq" BIGINT NOT NULL,
    "archivedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "ArchivePosition_pkey" PRIMARY KEY ("userId", "categoryName", "priority")
);
