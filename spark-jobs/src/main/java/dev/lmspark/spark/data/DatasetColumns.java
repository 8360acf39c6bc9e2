package dev.lmspark.spark.data;

/**
 * The columns of a prepared dataset's Parquet shards ({@code docs/dataset-format.md}), named once:
 * the preparation stages write them, {@link ExampleReader} and {@code verify} read and check them.
 * Which of them a split holds follows from the objective ({@link PreparedDataset#columns}).
 */
public final class DatasetColumns {
    private DatasetColumns() {}

    /** int64: dense, 0-based within its split, in the split's shuffled order. */
    public static final String EXAMPLE_ID = "example_id";

    /** array&lt;int32&gt;, max_length: token ids after masking or FIM, padded. */
    public static final String INPUT_IDS = "input_ids";

    /** array&lt;int8&gt;, max_length: 1 at real tokens, 0 at padding. */
    public static final String ATTENTION_MASK = "attention_mask";

    /** array&lt;int8&gt;, max_length: segment ids (1 in NSP's B segment, else 0). */
    public static final String TOKEN_TYPE_IDS = "token_type_ids";

    /**
     * array&lt;int32&gt;, max_length: the id to predict, {@link PreparedDataset#IGNORE_LABEL}
     * elsewhere.
     */
    public static final String LABELS = "labels";

    /** array&lt;int8&gt;, max_length: 1 at special tokens (padding included). */
    public static final String SPECIAL_TOKENS_MASK = "special_tokens_mask";

    /** array&lt;int8&gt;, max_length, objective mlm only: 1 at the first sub-token of a word. */
    public static final String WORD_START = "word_start";

    /** int8, NSP datasets only: 0 when B follows A, 1 when B is random. */
    public static final String NEXT_SENTENCE_LABEL = "next_sentence_label";

    /** array&lt;int32&gt;, max_length, predict split of mlm-seq2seq only: the reference target. */
    public static final String TARGET_IDS = "target_ids";

    /** int64: the source document's index (the first document of a packed example). */
    public static final String DOC_ID = "doc_id";
}
