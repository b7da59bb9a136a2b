-- AlterTable
ALTER TABLE "Stream" ADD COLUMN "prunedThrough" BIGINT NOT NULL DEFAULT 0;
