-- The instance's list of expiring public notifications reads the next page of them in order of
-- expiry (src/realtime/public-expiries.ts): a walk of this index, not a scan of the table.
CREATE INDEX "Notification_publicExpiresAt_idx" ON "Notification" ("expiresAt", id)
  WHERE public AND "expiresAt" IS NOT NULL;
