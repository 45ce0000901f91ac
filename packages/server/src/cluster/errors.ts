/** The cluster adapters' one failure the layers above need to tell apart. */
import { ServerError } from '../errors.js';

/**
 * The shared state (Redis) could not be reached or did not answer in time, so the operation was
 * refused rather than left waiting; nothing is known to have changed. Travels as
 * CLUSTER_UNAVAILABLE.
 */
export class ClusterUnavailableError extends ServerError {
  constructor(detail: string, options?: { cause?: unknown }) {
    super('CLUSTER_UNAVAILABLE', `the cluster's shared state is unavailable: ${detail}`, options);
  }
}
