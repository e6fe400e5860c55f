/** The driver's server selection, heartbeat and connection timeouts the gateway runs with by default. */
const DRIVER_TIMEOUTS = {
  serverSelectionTimeoutMS: 10_000,
  heartbeatFrequencyMS: 10_000,
  connectTimeoutMS: 10_000,
};

/**
 * The driver timeouts to pass along with `uri`: the defaults, except those the URI sets itself.
 * The driver lets options passed in code win over the URI's, which silently ignored a MONGODB_URI's
 * `serverSelectionTimeoutMS`, `heartbeatFrequencyMS` or `connectTimeoutMS`.
 */
export function driverOptions(uri: string): Partial<typeof DRIVER_TIMEOUTS> {
  const query = uri.includes('?') ? uri.slice(uri.indexOf('?') + 1) : '';
  const given = new Set([...new URLSearchParams(query).keys()].map((key) => key.toLowerCase()));
  return Object.fromEntries(
    Object.entries(DRIVER_TIMEOUTS).filter(([name]) => !given.has(name.toLowerCase())),
  );
}
