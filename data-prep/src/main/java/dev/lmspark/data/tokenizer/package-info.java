/**
 * Tokenizers: the pre-tokenization rules of the Hugging Face tokenizers lmspark trains (BERT
 * WordPiece and GPT-2 byte-level BPE), the BPE merge trainer, and the writer of the standard {@code
 * tokenizer.json}, {@code tokenizer_config.json} and {@code special_tokens_map.json} files.
 *
 * <p>Everything here is pure Java over strings and byte arrays: word counting across a corpus is
 * the Spark job's business ({@code spark-jobs}), training from the counted words happens here.
 */
package dev.lmspark.data.tokenizer;
