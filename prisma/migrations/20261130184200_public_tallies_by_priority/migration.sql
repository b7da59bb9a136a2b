-- Public tallies per category AND priority: archiveAll moves a user's archive position per
-- (category, priority), so a count sums each pair's tallies above its own position.
LOCK TABLE "Notification" IN SHARE ROW EXCLUSIVE MODE;

ALTER TABLE "PublicExpiry" ADD COLUMN "priority" "NotificationPriority";
UPDATE "PublicExpiry" q SET "priority" = n.priority FROM "Notification" n WHERE n.seq = q.seq;
DELETE FROM "PublicExpiry" WHERE "priority" IS NULL;
ALTER TABLE "PublicExpiry" ALTER COLUMN "priority" SET NOT NULL;

-- Recounted from what is live: present, and never expiring or still queued.
TRUNCATE "PublicTally";
ALTER TABLE "PublicTally" DROP CONSTRAINT "PublicTally_pkey";
ALTER TABLE "PublicTally" ADD COLUMN "priority" "NotificationPriority" NOT NULL;
ALTER TABLE "PublicTally"
    ADD CONSTRAINT "PublicTally_pkey" PRIMARY KEY ("categoryName", "priority", "bucket");
INSERT INTO "PublicTally" ("bucket", "categoryName", "priority", "live", "requireAck")
SELECT n.seq >> 10, n."categoryName", n.priority, count(*), count(*) FILTER (WHERE n."requireAck")
FROM "Notification" n
WHERE n.public AND (n."expiresAt" IS NULL OR n.seq IN (SELECT seq FROM "PublicExpiry"))
GROUP BY 1, 2, 3;

DROP FUNCTION public_tally_move(TEXT[], BIGINT[], BOOLEAN[], INTEGER);

-- Adds `sign` to the tallies of the given public notifications (parallel arrays), dropping
-- tallies that reach zero.
CREATE FUNCTION public_tally_move(
    categories TEXT[], priorities "NotificationPriority"[], seqs BIGINT[], acks BOOLEAN[],
    sign INTEGER)
RETURNS void LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    INSERT INTO "PublicTally" ("bucket", "categoryName", "priority", "live", "requireAck")
    SELECT u.seq >> 10, u.category, u.priority, sign * count(*),
        sign * count(*) FILTER (WHERE u.ack)
    FROM unnest(categories, priorities, seqs, acks) AS u(category, priority, seq, ack)
    GROUP BY 1, 2, 3 ORDER BY 2, 3, 1
    ON CONFLICT ("categoryName", "priority", "bucket") DO UPDATE
        SET "live" = "PublicTally"."live" + EXCLUDED."live",
            "requireAck" = "PublicTally"."requireAck" + EXCLUDED."requireAck";
    DELETE FROM "PublicTally" t
    WHERE t."live" = 0 AND (t."categoryName", t."priority", t."bucket") IN (
        SELECT u.category, u.priority, u.seq >> 10
        FROM unnest(categories, priorities, seqs) AS u(category, priority, seq));
END
$$;

CREATE OR REPLACE FUNCTION public_tally_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT FROM added WHERE public) THEN RETURN NULL; END IF;
    PERFORM public_tally_lock();
    INSERT INTO "PublicExpiry" ("seq", "expiresAt", "categoryName", "priority", "requireAck")
    SELECT seq, "expiresAt", "categoryName", priority, "requireAck" FROM added
    WHERE public AND "expiresAt" IS NOT NULL;
    -- Only an operator's change can queue one before what was settled (a send's is in the future).
    UPDATE "PublicExpirySettled" SET "through" = v.at, "throughSeq" = 0
    FROM (
        SELECT min(a."expiresAt") AS at FROM added a, "PublicExpirySettled" s
        WHERE a.public AND (a."expiresAt", a.seq) <= (s."through", s."throughSeq")) v
    WHERE v.at IS NOT NULL;
    PERFORM public_tally_move(
        array(SELECT "categoryName" FROM added WHERE public),
        array(SELECT priority FROM added WHERE public),
        array(SELECT seq FROM added WHERE public),
        array(SELECT "requireAck" FROM added WHERE public), 1);
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION public_tally_removed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    categories TEXT[];
    priorities "NotificationPriority"[];
    seqs BIGINT[];
    acks BOOLEAN[];
BEGIN
    IF NOT EXISTS (SELECT FROM removed WHERE public) THEN RETURN NULL; END IF;
    PERFORM public_tally_lock();
    WITH unqueued AS (
        DELETE FROM "PublicExpiry" q USING removed r
        WHERE r.public AND q.seq = r.seq
        RETURNING q.seq),
    leaving AS (
        SELECT r."categoryName", r.priority, r.seq, r."requireAck" FROM removed r
        WHERE r.public AND (r."expiresAt" IS NULL OR r.seq IN (SELECT seq FROM unqueued)))
    SELECT array_agg("categoryName"), array_agg(priority), array_agg(seq), array_agg("requireAck")
    INTO categories, priorities, seqs, acks FROM leaving;
    PERFORM public_tally_move(categories, priorities, seqs, acks, -1);
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION settle_public_expiries(max_rows INTEGER) RETURNS INTEGER
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    categories TEXT[];
    priorities "NotificationPriority"[];
    seqs BIGINT[];
    acks BOOLEAN[];
    last_at TIMESTAMPTZ;
    last_seq BIGINT;
BEGIN
    PERFORM public_tally_lock();
    WITH due AS (
        DELETE FROM "PublicExpiry" WHERE seq = ANY(ARRAY(
            SELECT q.seq FROM "PublicExpiry" q, "PublicExpirySettled" s
            WHERE (q."expiresAt", q.seq) > (s."through", s."throughSeq")
                AND q."expiresAt" <= now() - interval '10 seconds'
            ORDER BY q."expiresAt", q.seq LIMIT max_rows))
        RETURNING "categoryName", priority, seq, "requireAck", "expiresAt")
    SELECT array_agg("categoryName"), array_agg(priority), array_agg(seq), array_agg("requireAck"),
        (array_agg("expiresAt" ORDER BY "expiresAt" DESC, seq DESC))[1],
        (array_agg(seq ORDER BY "expiresAt" DESC, seq DESC))[1]
    INTO categories, priorities, seqs, acks, last_at, last_seq FROM due;
    PERFORM public_tally_move(categories, priorities, seqs, acks, -1);
    -- The earliest were taken: what stays queued comes after the last of them.
    IF last_seq IS NOT NULL THEN
        UPDATE "PublicExpirySettled" SET "through" = last_at, "throughSeq" = last_seq;
    END IF;
    RETURN coalesce(cardinality(seqs), 0);
END
$$;
