/** Hand-written wire primitives the generated codec is built on. Depends on nothing. */
export { alloc } from './alloc.js';
export * from './errors.js';
export { type BodyDecoder, DEFAULT_MAXIMUM_PACKET_SIZE, Framer, frameOne } from './framer.js';
export {
  decodeProperties,
  type PropertyDescriptor,
  type PropertySet,
  type PropertyTable,
  PropertyType,
  propertyTable,
  sizeProperties,
  writeProperties,
} from './properties.js';
export { Reader } from './reader.js';
export { topicFilterProblem, topicNameProblem } from './topic.js';
export {
  readUserProperty,
  sizeUserProperties,
  type UserProperties,
  writeUserProperties,
} from './user-properties.js';
export { encodeText, readUtf8, utf8Length, writeUtf8 } from './utf8.js';
export {
  binaryBytes,
  checkBool,
  checkInt,
  required,
  stringLength,
  toBytes,
  topicFilterLength,
  topicNameLength,
} from './values.js';
export { scanVbi, VBI_MAX, vbiLength, writeVbi } from './vbi.js';
export { writeBinary, writeBytes, writeString, writeStringUnsized, writeU16, writeU32 } from './writer.js';
