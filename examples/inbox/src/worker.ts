// The SharedWorker that runs the one store of this browser (createSharedInbox's `sharedWorker`):
// all of it is @notifications/client's, so one socket serves every tab of this origin.
import '../../../packages/client/src/worker';
