-- AlterEnum
ALTER TYPE "NotificationEventType" ADD VALUE 'DIGEST';

-- AlterTable
ALTER TABLE "Category" ADD COLUMN     "batchWindowSeconds" INTEGER;

-- AlterTable
ALTER TABLE "Notification" ADD COLUMN     "batchWindowSeconds" INTEGER;

-- CreateTable
CREATE TABLE "Preference" (
    "userId" TEXT NOT NULL,
    "categoryName" TEXT NOT NULL,
    "muted" BOOLEAN NOT NULL,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "Preference_pkey" PRIMARY KEY ("userId","categoryName")
);

-- AddForeignKey
ALTER TABLE "Preference" ADD CONSTRAINT "Preference_categoryName_fkey" FOREIGN KEY ("categoryName") REFERENCES "Category"("name") ON DELETE CASCADE ON UPDATE CASCADE;
