-- Webhooks: a service's endpoints, and an outbox of deliveries fed by triggers in the same
-- transaction as the change (a receipt seen or acknowledged, a notification deleted), so a
-- delivery exists exactly when its change was committed, whichever code path made it.

CREATE TYPE "WebhookEvent" AS ENUM ('SEEN', 'ACKNOWLEDGED', 'DELETED', 'UNACKNOWLEDGED');
CREATE TYPE "WebhookDeliveryStatus" AS ENUM ('PENDING', 'DELIVERED', 'FAILED');

ALTER TABLE "Category" ADD COLUMN "escalateAfterSeconds" INTEGER;

CREATE TABLE "Webhook" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "service" TEXT NOT NULL,
    "url" TEXT NOT NULL,
    "events" "WebhookEvent"[],
    "categories" TEXT[],
    "secret" TEXT NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Webhook_pkey" PRIMARY KEY ("id")
);
-- The triggers look up the sender's webhooks: a few per service (WEBHOOK_MAX_PER_SERVICE).
CREATE INDEX "Webhook_service_idx" ON "Webhook"("service");

CREATE TABLE "WebhookDelivery" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "webhookId" UUID NOT NULL,
    "event" "WebhookEvent" NOT NULL,
    "notificationId" UUID NOT NULL,
    "userId" TEXT,
    "data" JSONB NOT NULL,
    "status" "WebhookDeliveryStatus" NOT NULL DEFAULT 'PENDING',
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "nextAttemptAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "lastError" TEXT,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "finishedAt" TIMESTAMPTZ(3),

    CONSTRAINT "WebhookDelivery_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "WebhookDelivery_webhookId_fkey" FOREIGN KEY ("webhookId") REFERENCES "Webhook"("id") ON DELETE CASCADE ON UPDATE CASCADE
);
-- The dispatcher's claim: the pending ones in the order they come due.
CREATE INDEX "WebhookDelivery_due_idx" ON "WebhookDelivery"("nextAttemptAt") WHERE "status" = 'PENDING';
-- The prune: finished ones, oldest first.
CREATE INDEX "WebhookDelivery_finished_idx" ON "WebhookDelivery"("finishedAt") WHERE "status" <> 'PENDING';
-- Deleting a webhook cascades to its deliveries.
CREATE INDEX "WebhookDelivery_webhookId_idx" ON "WebhookDelivery"("webhookId");
-- One UNACKNOWLEDGED per webhook, notification and user, however often escalation looks.
CREATE UNIQUE INDEX "WebhookDelivery_unacknowledged_key" ON "WebhookDelivery"("webhookId", "notificationId", "userId")
  WHERE "event" = 'UNACKNOWLEDGED';

-- A private require-ack notification whose category escalates, until escalation has walked its
-- receipts (throughUserId: where the walk is, in user order, so each run is bounded).
CREATE TABLE "WebhookEscalation" (
    "notificationId" UUID NOT NULL,
    "escalateAt" TIMESTAMPTZ(3) NOT NULL,
    "throughUserId" TEXT,

    CONSTRAINT "WebhookEscalation_pkey" PRIMARY KEY ("notificationId"),
    CONSTRAINT "WebhookEscalation_notificationId_fkey" FOREIGN KEY ("notificationId") REFERENCES "Notification"("id") ON DELETE CASCADE ON UPDATE CASCADE
);
CREATE INDEX "WebhookEscalation_escalateAt_idx" ON "WebhookEscalation"("escalateAt");

-- Queues one delivery per webhook of `sender` that takes `event` for `category`.
CREATE FUNCTION webhook_enqueue(sender TEXT, category TEXT, event "WebhookEvent",
  notification UUID, recipient TEXT, payload JSONB)
RETURNS void LANGUAGE sql VOLATILE AS $$
  INSERT INTO "WebhookDelivery" ("webhookId", "event", "notificationId", "userId", "data")
  SELECT w.id, event, notification, recipient, payload
  FROM "Webhook" w
  WHERE w.service = sender AND event = ANY(w.events)
    AND (coalesce(cardinality(w.categories), 0) = 0 OR category = ANY(w.categories));
$$;

-- A receipt that became seen or acknowledged (the WHEN clauses keep every other receipt write
-- free of this): SEEN and ACKNOWLEDGED for its sender's webhooks.
CREATE FUNCTION webhook_receipt_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  n RECORD;
BEGIN
  SELECT sender, "categoryName" INTO n FROM "Notification" WHERE id = NEW."notificationId";
  IF NOT FOUND OR NOT EXISTS (SELECT 1 FROM "Webhook" WHERE service = n.sender) THEN
    RETURN NULL;
  END IF;
  IF NEW."seenAt" IS NOT NULL AND (TG_OP = 'INSERT' OR OLD."seenAt" IS NULL) THEN
    PERFORM webhook_enqueue(n.sender, n."categoryName", 'SEEN', NEW."notificationId", NEW."userId",
      jsonb_build_object('notificationId', NEW."notificationId", 'userId', NEW."userId",
        'category', n."categoryName", 'seenAt', NEW."seenAt"));
  END IF;
  IF NEW."acknowledgedAt" IS NOT NULL AND (TG_OP = 'INSERT' OR OLD."acknowledgedAt" IS NULL) THEN
    PERFORM webhook_enqueue(n.sender, n."categoryName", 'ACKNOWLEDGED', NEW."notificationId", NEW."userId",
      jsonb_build_object('notificationId', NEW."notificationId", 'userId', NEW."userId",
        'category', n."categoryName", 'acknowledgedAt', NEW."acknowledgedAt"));
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER "Receipt_webhook_insert" AFTER INSERT ON "Receipt"
  FOR EACH ROW WHEN (NEW."seenAt" IS NOT NULL OR NEW."acknowledgedAt" IS NOT NULL)
  EXECUTE FUNCTION webhook_receipt_changed();
CREATE TRIGGER "Receipt_webhook_update" AFTER UPDATE OF "seenAt", "acknowledgedAt" ON "Receipt"
  FOR EACH ROW WHEN ((OLD."seenAt" IS NULL AND NEW."seenAt" IS NOT NULL)
    OR (OLD."acknowledgedAt" IS NULL AND NEW."acknowledgedAt" IS NOT NULL))
  EXECUTE FUNCTION webhook_receipt_changed();

-- A deleted notification (support, or the retention job): DELETED for its sender's webhooks.
-- Per statement: the job deletes thousands at once.
CREATE FUNCTION webhook_notifications_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO "WebhookDelivery" ("webhookId", "event", "notificationId", "userId", "data")
  SELECT w.id, 'DELETED', o.id, NULL,
    jsonb_build_object('notificationId', o.id, 'userId', NULL, 'category', o."categoryName",
      'public', o.public, 'deletedAt', now())
  FROM gone o
  JOIN "Webhook" w ON w.service = o.sender
  WHERE 'DELETED' = ANY(w.events) AND (coalesce(cardinality(w.categories), 0) = 0 OR o."categoryName" = ANY(w.categories));
  RETURN NULL;
END $$;

CREATE TRIGGER "Notification_webhook_delete" AFTER DELETE ON "Notification"
  REFERENCING OLD TABLE AS gone
  FOR EACH STATEMENT EXECUTE FUNCTION webhook_notifications_deleted();

-- A private require-ack notification of a category with escalateAfterSeconds: escalation
-- looks at its receipts then (the WHEN clause keeps other sends free of this).
CREATE FUNCTION webhook_escalation_planned() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  after_seconds INTEGER;
BEGIN
  SELECT "escalateAfterSeconds" INTO after_seconds FROM "Category" WHERE name = NEW."categoryName";
  IF after_seconds IS NOT NULL THEN
    INSERT INTO "WebhookEscalation" ("notificationId", "escalateAt")
    VALUES (NEW.id, NEW."createdAt" + make_interval(secs => after_seconds));
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER "Notification_webhook_escalation" AFTER INSERT ON "Notification"
  FOR EACH ROW WHEN (NEW."requireAck" AND NOT NEW.public)
  EXECUTE FUNCTION webhook_escalation_planned();
