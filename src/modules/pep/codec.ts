// PEP items are pubsub items: the codec is the pubsub engine's (src/modules/pubsub/engine/codec.ts).
export {
  eventMessage,
  itemElement,
  itemsEvent,
  newItemId,
  parsePayload,
  type PubsubItem as PepItem,
  pubsubError,
  serialisePayload,
} from "../pubsub/engine/codec.js";
