-- The event log, partitioned by the UTC day of "createdAt": retention drops a day whole once all
-- of it is older than the log is kept, instead of deleting its events one at a time. Events
-- outside the daily partitions (older than the first, or dated ahead of the last) go to the
-- default partition, and retention deletes those one at a time.
--
-- A partitioned table's unique keys must hold its partition key, so the primary key becomes
-- (id, "createdAt") and (stream, seq) a plain index: both stay unique by construction (ids come
-- from one sequence; a stream's seqs are handed out under its head row's lock).

ALTER TABLE "Event" RENAME TO "Event_unpartitioned";
ALTER TABLE "Event_unpartitioned" RENAME CONSTRAINT "Event_pkey" TO "Event_unpartitioned_pkey";
ALTER INDEX "Event_stream_seq_key" RENAME TO "Event_unpartitioned_stream_seq_key";
ALTER INDEX "Event_notificationId_idx" RENAME TO "Event_unpartitioned_notificationId_idx";
ALTER INDEX "Event_createdAt_idx" RENAME TO "Event_unpartitioned_createdAt_idx";

CREATE TABLE "Event" (
    "id" BIGINT NOT NULL DEFAULT nextval('"Event_id_seq"'),
    "stream" TEXT NOT NULL,
    "seq" BIGINT NOT NULL,
    "type" "NotificationEventType" NOT NULL,
    "notificationId" UUID NOT NULL,
    "tombstone" JSONB,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "state" JSONB,

    CONSTRAINT "Event_pkey" PRIMARY KEY ("id", "createdAt")
) PARTITION BY RANGE ("createdAt");

CREATE INDEX "Event_stream_seq_idx" ON "Event"("stream", "seq");
CREATE INDEX "Event_notificationId_idx" ON "Event"("notificationId");
CREATE INDEX "Event_createdAt_idx" ON "Event"("createdAt");

CREATE TABLE "Event_default" PARTITION OF "Event" DEFAULT;

-- Creates the partition of one UTC day, "Event_pYYYYMMDD", unless it exists; false when it did
-- or could not be made (the default partition holds events of that day: they stay there).
-- Attached rather than created as a partition, so the log itself is only share-locked; the
-- default partition is checked under a short lock_timeout, so no one queues behind this.
CREATE FUNCTION create_event_partition(day date) RETURNS boolean
LANGUAGE plpgsql SET lock_timeout = '500ms' AS $$
DECLARE
  name text := 'Event_p' || to_char(day, 'YYYYMMDD');
  starts timestamptz := day::timestamp AT TIME ZONE 'UTC';
BEGIN
  IF to_regclass(format('%I', name)) IS NOT NULL THEN
    RETURN false;
  END IF;
  EXECUTE format('CREATE TABLE %I (LIKE "Event" INCLUDING DEFAULTS)', name);
  EXECUTE format('ALTER TABLE "Event" ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)',
                 name, starts, starts + interval '1 day');
  RETURN true;
EXCEPTION WHEN check_violation THEN
  RETURN false;
END $$;

-- Today's partition and the next seven days', run at every start and by every retention run.
CREATE FUNCTION create_event_partitions_ahead() RETURNS integer LANGUAGE sql AS $$
  SELECT count(*) FILTER (WHERE create_event_partition(day::date))::integer
  FROM generate_series((now() AT TIME ZONE 'UTC')::date,
                       (now() AT TIME ZONE 'UTC')::date + 7, interval '1 day') AS day
$$;

-- A drop of a day under way: the streams up to throughStream have their prunedThrough raised
-- past the day's events; the day is dropped once all of them have.
CREATE TABLE "EventLogPrune" (
    "partition" TEXT NOT NULL,
    "throughStream" TEXT NOT NULL,

    CONSTRAINT "EventLogPrune_pkey" PRIMARY KEY ("partition")
);

-- Days from the oldest event (at most 31 days back: older ones go to the default partition)
-- through the coming week, then every event as it was.
SELECT create_event_partition(day::date)
FROM generate_series(
  (GREATEST(LEAST((SELECT min("createdAt") FROM "Event_unpartitioned"), now()),
            now() - interval '31 days') AT TIME ZONE 'UTC')::date,
  (now() AT TIME ZONE 'UTC')::date, interval '1 day') AS day;
SELECT create_event_partitions_ahead();

INSERT INTO "Event" (id, stream, seq, type, "notificationId", tombstone, "createdAt", state)
SELECT id, stream, seq, type, "notificationId", tombstone, "createdAt", state
FROM "Event_unpartitioned";

ALTER SEQUENCE "Event_id_seq" OWNED BY "Event"."id";
DROP TABLE "Event_unpartitioned";
