-- markAllSeen writes one position instead of a receipt per public notification, and one event.
ALTER TYPE "NotificationEventType" ADD VALUE 'ALL_SEEN' BEFORE 'DIGEST';

CREATE TABLE "InboxState" (
    "userId" TEXT NOT NULL,
    "publicSeenSeq" BIGINT NOT NULL,
    "publicSeenAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "InboxState_pkey" PRIMARY KEY ("userId")
);

-- Counting walks only the receipts that still need attention, and the user's receipts of public
-- notifications, not the user's whole history.
ALTER TABLE "Receipt" ADD COLUMN "requireAck" BOOLEAN NOT NULL DEFAULT false;
ALTER TABLE "Receipt" ADD COLUMN "public" BOOLEAN NOT NULL DEFAULT false;
UPDATE "Receipt" r SET "requireAck" = n."requireAck", "public" = n.public
  FROM "Notification" n WHERE n.id = r."notificationId" AND (n."requireAck" OR n.public);
CREATE INDEX "Receipt_attention_idx" ON "Receipt" ("userId")
  WHERE "seenAt" IS NULL OR ("requireAck" AND "acknowledgedAt" IS NULL);
CREATE INDEX "Receipt_public_idx" ON "Receipt" ("userId", "notificationId") WHERE "public";

-- The require-ack public notifications, which still count below a user's position until acknowledged.
CREATE INDEX "Notification_publicRequireAck_idx" ON "Notification" (seq)
  WHERE public AND "requireAck";

-- The public notifications above a user's position: the planner does not pick (public, seq) for
-- a range whose bound is only known at run time, and walks the whole seq index instead.
CREATE INDEX "Notification_publicSeq_idx" ON "Notification" (seq) WHERE public;
