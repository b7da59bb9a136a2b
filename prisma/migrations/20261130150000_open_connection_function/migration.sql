-- Records a connection if its user has fewer than max_per_user, in one statement: the caller
-- makes one round trip, and the user's lock is held only while this runs inside the server, never
-- across the network. VOLATILE plpgsql takes a fresh snapshot per statement, so the count runs
-- after the lock is held and sees every connection committed before it: exact across instances.
CREATE FUNCTION open_connection(
    connection_id UUID,
    user_id TEXT,
    session_id TEXT,
    instance_id UUID,
    max_per_user INTEGER
) RETURNS BOOLEAN
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('connections:' || user_id));
    IF (SELECT count(*) FROM "Connection" WHERE "userId" = user_id) >= max_per_user THEN
        RETURN FALSE;
    END IF;
    INSERT INTO "Connection" (id, "userId", "sessionId", "instanceId")
    VALUES (connection_id, user_id, session_id, instance_id);
    RETURN TRUE;
END
$$;
