/**
 * The PyPI ecosystem: follows an index through its XML-RPC changelog (or
 * the PEP 691 simple API), builds wheels with pip on workers, and publishes
 * a PEP 503 / 691 / 658 index that pip installs from.
 */
export { createPypiMaster, type PypiMasterOptions } from './master.ts';
export { createPypiWorker, type PypiWorkerOptions } from './worker.ts';
