-- Scheduled sends: a send validated and dated when it was asked for, delivered at "sendAt" by
-- whichever instance claims it first (FOR UPDATE SKIP LOCKED), through the one send statement,
-- with its id. Until then it is only this row: in no inbox, count, stream or tally.

CREATE TABLE "ScheduledSend" (
    "id" UUID NOT NULL,
    "sender" TEXT NOT NULL,
    "sendAt" TIMESTAMPTZ(3) NOT NULL,
    -- Keeps the category from being deleted while a send waits for it (CATEGORY_IN_USE).
    "categoryName" TEXT NOT NULL,
    -- The StoredSend of src/notifications/send-statement.ts, as JSON.
    "send" JSONB NOT NULL,
    -- The streams its send appends to (its recipients; 1 when public): what bounds a delivery pass.
    "streamCount" INTEGER NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "ScheduledSend_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "ScheduledSend_categoryName_fkey" FOREIGN KEY ("categoryName") REFERENCES "Category"("name") ON DELETE RESTRICT ON UPDATE CASCADE
);
-- The dispatcher's claim and its next wake-up: the due ones in the order they come due.
CREATE INDEX "ScheduledSend_sendAt_idx" ON "ScheduledSend"("sendAt");
