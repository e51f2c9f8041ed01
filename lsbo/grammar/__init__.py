"""Context-free grammars: loading (nltk CFG as the single source of truth), tokenizing, parsing to
leftmost production sequences, one-hot tensors, masks, and batched masked decoding."""
