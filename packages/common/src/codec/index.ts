export { ByteReader } from './ByteReader';
export { ByteWriter } from './ByteWriter';
