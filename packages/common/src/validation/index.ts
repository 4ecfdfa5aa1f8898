export { OptionReader } from './OptionReader';
export {
  checkArray,
  checkNumber,
  checkRecord,
  checkString,
  describeRule,
  describeValue,
  fail,
  failType,
  isPlainObject,
  rejectUnknownKeys,
} from './checks';
export type { RangeRule } from './RangeRule';
export type { AttributeRecord } from './OptionReader';
