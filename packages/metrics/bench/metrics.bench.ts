/**
 * The quick part of `npm run bench:scale`: the record path of every
 * route into the store against the SDK's, and the memory retained per
 * histogram series after 70 simulated minutes at the default retention
 * (the same scripts, each in a process of its own). The scale table is
 * `npm run bench:scale` alone.
 *
 *   npm run bench:metrics         (from the repository root)
 *
 * A script, not a test: compare the ratios. Writes bench-results/metrics.json.
 */
import { writeResults } from '@datapunk/bench-kit';
import { RECORD_PATHS_NOTE, printRecordPaths } from './scale/recordPaths';
import type { RecordPathResult } from './scale/recordPaths';
import {
  RETENTION_NOTE,
  RETENTION_SETUPS,
  printRetention,
} from './scale/retention';
import type { RetentionResult } from './scale/retention';
import { runChild } from './scale/runChild';

const record = runChild<RecordPathResult[]>('recordPaths.js', [], false);
console.log(`Node ${process.version}; record path: ${RECORD_PATHS_NOTE}\n`);
printRecordPaths(record);
const retention = RETENTION_SETUPS.map(setup =>
  runChild<RetentionResult>('retention.js', [setup], true)
);
console.log(`\nRetained memory: ${RETENTION_NOTE}\n`);
printRetention(retention);
writeResults('metrics', { recordPaths: record, retention });
