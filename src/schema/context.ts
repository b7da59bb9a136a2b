import type { Viewer } from '../auth/viewer.js';
import type { Services } from '../services.js';

/** What every resolver gets: who is calling and the domain services to act with. */
export interface Context {
  viewer: Viewer;
  services: Services;
}
