// The SharedWorker that runs the one store of this browser (createSharedInbox's `sharedWorker`).
import '@notifications/client/worker';
