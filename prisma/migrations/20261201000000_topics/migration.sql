-- Topics, the third audience: a send to a topic reaches its members as they are when it is
-- stored. "Topic" keeps each topic's member count as state (updated by the membership changes,
-- which lock its row), so listing topics and enforcing TOPIC_MAX_MEMBERS never count members.

CREATE TABLE "Topic" (
    "name" TEXT NOT NULL,
    "memberCount" INTEGER NOT NULL DEFAULT 0,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Topic_pkey" PRIMARY KEY ("name")
);

-- A send reads a topic's members in primary-key order; a user's topics walk the userId index.
CREATE TABLE "TopicMember" (
    "topic" TEXT NOT NULL,
    "userId" TEXT NOT NULL,
    "joinedAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "TopicMember_pkey" PRIMARY KEY ("topic", "userId")
);

CREATE INDEX "TopicMember_userId_topic_idx" ON "TopicMember"("userId", "topic");

ALTER TABLE "TopicMember" ADD CONSTRAINT "TopicMember_topic_fkey" FOREIGN KEY ("topic")
    REFERENCES "Topic"("name") ON DELETE CASCADE ON UPDATE CASCADE;
