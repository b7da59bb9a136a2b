-- Senders may change what they sent (updateNotification): an UPDATED event carries the new
-- content to every stream the notification is on; editedAt says when it last changed.
ALTER TYPE "NotificationEventType" ADD VALUE 'UPDATED' BEFORE 'DIGEST';
ALTER TABLE "Notification" ADD COLUMN "editedAt" TIMESTAMPTZ(3);
