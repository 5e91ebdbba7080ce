export {
  BitcodeFormatError,
  bitcodeBody,
  inspectBitcode,
  isBitcode,
  isBitcodeWrapper,
  isRawBitcode,
  parseProducerVersion,
  readBitcodeProducer,
  type BitcodeInfo,
  type ProducerVersion,
} from './producer';
