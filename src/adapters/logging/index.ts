// The Cloud Logging adapter: task logs read through @google-cloud/logging.
export { CloudLogEntries, type CloudLoggingOptions } from './cloudLogging.js';
