-- Counting public notifications without walking them: how many live public notifications each
-- category has per bucket of 1024 seqs (seq >> 10), kept by triggers in the transaction that
-- inserts, changes or deletes them. "Live" is present and not yet settled as expired. A user's
-- count of the public ones above their position sums the buckets above it and walks at most one
-- bucket of rows; so it reads about (public notifications / 1024) tally rows, not the rows.
CREATE TABLE "PublicTally" (
    "bucket" BIGINT NOT NULL,
    "categoryName" TEXT NOT NULL,
    "live" INTEGER NOT NULL,
    "requireAck" INTEGER NOT NULL,

    CONSTRAINT "PublicTally_pkey" PRIMARY KEY ("bucket", "categoryName")
);

-- The live public notifications that will expire. Expiry is not monotone in seq (a send may set
-- any expiresAt), so each is settled on its own: a bounded job takes the due ones out of here and
-- out of the tallies. Until then a count subtracts them, found through the expiresAt index: as
-- many as the job is behind, not as many as there are.
CREATE TABLE "PublicExpiry" (
    "seq" BIGINT NOT NULL,
    "expiresAt" TIMESTAMPTZ(3) NOT NULL,
    "categoryName" TEXT NOT NULL,
    "requireAck" BOOLEAN NOT NULL,

    CONSTRAINT "PublicExpiry_pkey" PRIMARY KEY ("seq")
);
CREATE INDEX "PublicExpiry_expiresAt_seq_idx" ON "PublicExpiry" ("expiresAt", "seq");

-- Every queued expiry is after ("through", "throughSeq") in the order of that index: a count
-- looks for the due ones from there, past the index entries of the ones settled already, which
-- stay until vacuum (ties of expiresAt included, hence the seq).
CREATE TABLE "PublicExpirySettled" (
    "singleton" BOOLEAN NOT NULL DEFAULT true,
    "through" TIMESTAMPTZ(3) NOT NULL,
    "throughSeq" BIGINT NOT NULL,

    CONSTRAINT "PublicExpirySettled_pkey" PRIMARY KEY ("singleton"),
    CONSTRAINT "PublicExpirySettled_singleton" CHECK ("singleton")
);
INSERT INTO "PublicExpirySettled" ("through", "throughSeq") VALUES (now() - interval '10 seconds', 0);

-- Every writer of the tallies holds the public stream's head first (a public send holds it
-- already), so writers never wait on each other's tally rows in a different order.
CREATE FUNCTION public_tally_lock() RETURNS void LANGUAGE sql VOLATILE AS $$
    SELECT FROM "Stream" WHERE id = 'public' FOR UPDATE
$$;

-- Adds `sign` to the tallies of the given public notifications (parallel arrays), dropping
-- tallies that reach zero.
CREATE FUNCTION public_tally_move(categories TEXT[], seqs BIGINT[], acks BOOLEAN[], sign INTEGER)
RETURNS void LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    INSERT INTO "PublicTally" ("bucket", "categoryName", "live", "requireAck")
    SELECT u.seq >> 10, u.category, sign * count(*), sign * count(*) FILTER (WHERE u.ack)
    FROM unnest(categories, seqs, acks) AS u(category, seq, ack)
    GROUP BY 1, 2 ORDER BY 1, 2
    ON CONFLICT ("bucket", "categoryName") DO UPDATE
        SET "live" = "PublicTally"."live" + EXCLUDED."live",
            "requireAck" = "PublicTally"."requireAck" + EXCLUDED."requireAck";
    DELETE FROM "PublicTally" t
    WHERE t."live" = 0 AND (t."bucket", t."categoryName") IN (
        SELECT u.seq >> 10, u.category FROM unnest(categories, seqs) AS u(category, seq));
END
$$;

-- Public notifications become live: counted, and queued for expiry if they expire.
CREATE FUNCTION public_tally_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT FROM added WHERE public) THEN RETURN NULL; END IF;
    PERFORM public_tally_lock();
    INSERT INTO "PublicExpiry" ("seq", "expiresAt", "categoryName", "requireAck")
    SELECT seq, "expiresAt", "categoryName", "requireAck" FROM added
    WHERE public AND "expiresAt" IS NOT NULL;
    -- Only an operator's change can queue one before what was settled (a send's is in the future).
    UPDATE "PublicExpirySettled" SET "through" = v.at, "throughSeq" = 0
    FROM (
        SELECT min(a."expiresAt") AS at FROM added a, "PublicExpirySettled" s
        WHERE a.public AND (a."expiresAt", a.seq) <= (s."through", s."throughSeq")) v
    WHERE v.at IS NOT NULL;
    PERFORM public_tally_move(
        array(SELECT "categoryName" FROM added WHERE public),
        array(SELECT seq FROM added WHERE public),
        array(SELECT "requireAck" FROM added WHERE public), 1);
    RETURN NULL;
END
$$;

-- Public notifications stop being live: the ones still counted (never expiring, or expiring
-- but not settled yet, so still queued) leave the tallies.
CREATE FUNCTION public_tally_removed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    categories TEXT[];
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
        SELECT r."categoryName", r.seq, r."requireAck" FROM removed r
        WHERE r.public AND (r."expiresAt" IS NULL OR r.seq IN (SELECT seq FROM unqueued)))
    SELECT array_agg("categoryName"), array_agg(seq), array_agg("requireAck")
    INTO categories, seqs, acks FROM leaving;
    PERFORM public_tally_move(categories, seqs, acks, -1);
    RETURN NULL;
END
$$;

CREATE TRIGGER "Notification_public_tally_insert" AFTER INSERT ON "Notification"
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION public_tally_added();
CREATE TRIGGER "Notification_public_tally_delete" AFTER DELETE ON "Notification"
    REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION public_tally_removed();
-- A change of what the tallies know (an operator's UPDATE, or a category renamed) is a removal
-- of the old row and then (triggers fire in name order) an addition of the new one.
CREATE TRIGGER "Notification_public_tally_update_1_old" AFTER UPDATE ON "Notification"
    REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION public_tally_removed();
CREATE TRIGGER "Notification_public_tally_update_2_new" AFTER UPDATE ON "Notification"
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION public_tally_added();

-- Settles up to max_rows public notifications that expired: out of the queue and the tallies.
-- Only ones expired 10 seconds ago or more, so that a reader whose transaction began a moment
-- before this one (and judges expiry by its own now()) still finds queued whatever it counts
-- as not yet expired. Returns how many it settled.
CREATE FUNCTION settle_public_expiries(max_rows INTEGER) RETURNS INTEGER
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    categories TEXT[];
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
        RETURNING "categoryName", seq, "requireAck", "expiresAt")
    SELECT array_agg("categoryName"), array_agg(seq), array_agg("requireAck"),
        (array_agg("expiresAt" ORDER BY "expiresAt" DESC, seq DESC))[1],
        (array_agg(seq ORDER BY "expiresAt" DESC, seq DESC))[1]
    INTO categories, seqs, acks, last_at, last_seq FROM due;
    PERFORM public_tally_move(categories, seqs, acks, -1);
    -- The earliest were taken: what stays queued comes after the last of them.
    IF last_seq IS NOT NULL THEN
        UPDATE "PublicExpirySettled" SET "through" = last_at, "throughSeq" = last_seq;
    END IF;
    RETURN coalesce(cardinality(seqs), 0);
END
$$;

-- What is stored already: the ones that expired (10 seconds ago or more) count as settled.
INSERT INTO "PublicExpiry" ("seq", "expiresAt", "categoryName", "requireAck")
SELECT seq, "expiresAt", "categoryName", "requireAck" FROM "Notification"
WHERE public AND "expiresAt" > now() - interval '10 seconds';
INSERT INTO "PublicTally" ("bucket", "categoryName", "live", "requireAck")
SELECT seq >> 10, "categoryName", count(*), count(*) FILTER (WHERE "requireAck")
FROM "Notification"
WHERE public AND ("expiresAt" IS NULL OR "expiresAt" > now() - interval '10 seconds')
GROUP BY 1, 2;
