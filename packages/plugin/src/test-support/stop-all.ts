// The plugin's tests import it from here; its home is the testing subpath.
export { stopAll } from '../testing/stop-all.js';
