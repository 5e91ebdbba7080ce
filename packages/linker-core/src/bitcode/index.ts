export {
  BitcodeFormatError,
  bitcodeBody,
  inspectBitcode,
  isBitcode,
  isBitcodeWrapper,
  isRawBitcode,
  parseProducerVersion,
  readBitcodeProducer,
  readSymbolTableBlobs,
  type SymbolTableBlobs,
  type BitcodeInfo,
  type ProducerVersion,
} from './producer';
export { readBitcodeSymbols, type BitcodeSymbol } from './symtab';
