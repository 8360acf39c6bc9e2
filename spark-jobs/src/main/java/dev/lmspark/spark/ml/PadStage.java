package dev.lmspark.spark.ml;

import dev.lmspark.data.collate.Example;
import dev.lmspark.data.collate.ExampleAssembler;
import dev.lmspark.data.tokenizer.LmTokenizer;
import dev.lmspark.spark.data.DatasetColumns;
import org.apache.spark.api.java.function.MapFunction;
import org.apache.spark.ml.param.BooleanParam;
import org.apache.spark.ml.param.IntParam;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.util.DefaultParamsReader;
import org.apache.spark.ml.util.Identifiable;
import org.apache.spark.ml.util.MLReader;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * Pads sequence rows to {@code maxLength} and writes the shard columns: MLM rows take {@code
 * input_ids} and {@code labels} from {@link MaskStage} (and keep {@code word_start}, and {@code
 * next_sentence_label} with NSP); causal rows are labelled with their own ids where the attention
 * mask is 1, except {@code <fim_pad>} (the model shifts). {@code special_tokens_mask} marks the
 * tokenizer's special tokens in the unmasked sequence, and padding.
 */
public final class PadStage extends LmStage implements SharedParams.HasMaxLength {
    private static final long serialVersionUID = 1L;

    private final IntParam maxLength = intParam(this, "maxLength", "length of every array", 1);
    private final Param<String> paddingSide =
            new Param<>(
                    this,
                    "paddingSide",
                    "right or left",
                    (String s) -> s.equals("right") || s.equals("left"));
    private final BooleanParam causal =
            flag(this, "causal", "label causal-LM rows from the attention mask");
    private final BooleanParam nsp = flag(this, "nsp", "keep next_sentence_label");

    public PadStage(String uid) {
        super(uid);
        setDefault(maxLength, 128);
        setDefault(paddingSide, "right");
        setDefault(causal, false);
        setDefault(nsp, false);
    }

    public PadStage() {
        this(Identifiable.randomUID("lmspark_pad"));
    }

    public PadStage setTokenizer(String p) {
        set(tokenizer, p);
        return this;
    }

    public PadStage setMaxLength(int n) {
        set(maxLength, n);
        return this;
    }

    public PadStage setPaddingSide(String s) {
        set(paddingSide, s);
        return this;
    }

    public PadStage setCausal(boolean c) {
        set(causal, c);
        return this;
    }

    public PadStage setNsp(boolean n) {
        set(nsp, n);
        return this;
    }

    public IntParam maxLength() {
        return maxLength;
    }

    public Param<String> paddingSide() {
        return paddingSide;
    }

    public BooleanParam causal() {
        return causal;
    }

    public BooleanParam nsp() {
        return nsp;
    }

    /** The {@code paddingSide} param's value. */
    public String getPaddingSide() {
        return getOrDefault(paddingSide);
    }

    /** The {@code causal} param's value. */
    public boolean getCausal() {
        return (Boolean) getOrDefault(causal);
    }

    /** The {@code nsp} param's value. */
    public boolean getNsp() {
        return (Boolean) getOrDefault(nsp);
    }

    @Override
    public StructType transformSchema(StructType schema) {
        String name = getClass().getSimpleName();
        var ints = DataTypes.createArrayType(DataTypes.IntegerType, false);
        require(schema, Sequences.IDS, ints, name);
        boolean isCausal = getCausal();
        if (!isCausal) {
            require(schema, DatasetColumns.INPUT_IDS, ints, name);
            require(schema, DatasetColumns.LABELS, ints, name);
        }
        return ExampleRows.schema(!isCausal, getNsp(), false);
    }

    @Override
    public Dataset<Row> transform(Dataset<?> dataset) {
        StructType out = transformSchema(dataset.schema());
        LmTokenizer tok = tokenizerSource(dataset.sparkSession()).tokenizer();
        var s = tok.specials();
        ExampleAssembler assembler =
                new ExampleAssembler(
                        getMaxLength(),
                        getPaddingSide().equals("left"),
                        s.padOrEos(),
                        tok.specialIds(),
                        s.cls(),
                        s.sep(),
                        s.fimPad());
        boolean isCausal = getCausal();
        boolean withNsp = getNsp();
        StructType schema = dataset.schema();
        int splitAt = schema.fieldIndex(Sequences.SPLIT);
        int docAt = schema.fieldIndex(DatasetColumns.DOC_ID);
        int seqAt = schema.fieldIndex(Sequences.SEQ);
        int idsAt = schema.fieldIndex(Sequences.IDS);
        int startsAt = schema.fieldIndex(DatasetColumns.WORD_START);
        int typesAt = schema.fieldIndex(Sequences.TYPE_IDS);
        int nspAt = schema.fieldIndex(DatasetColumns.NEXT_SENTENCE_LABEL);
        int inputAt = isCausal ? -1 : schema.fieldIndex(DatasetColumns.INPUT_IDS);
        int labelsAt = isCausal ? -1 : schema.fieldIndex(DatasetColumns.LABELS);
        return dataset.toDF()
                .map(
                        (MapFunction<Row, Row>)
                                r -> {
                                    int[] ids = Sequences.ints(r, idsAt);
                                    long doc = r.getLong(docAt);
                                    Example e;
                                    if (isCausal) {
                                        e = assembler.causal(ids, doc);
                                    } else {
                                        byte[] types = Sequences.bytes(r, typesAt);
                                        boolean[] starts = Sequences.booleans(r, startsAt);
                                        byte[] wordStart = new byte[ids.length];
                                        for (int i = 0; i < ids.length; i++) {
                                            wordStart[i] =
                                                    (byte) (starts == null || starts[i] ? 1 : 0);
                                        }
                                        e =
                                                assembler.pad(
                                                        Sequences.ints(r, inputAt),
                                                        types == null
                                                                ? new byte[ids.length]
                                                                : types,
                                                        Sequences.ints(r, labelsAt),
                                                        ids,
                                                        wordStart,
                                                        r.isNullAt(nspAt) ? null : r.getInt(nspAt),
                                                        null,
                                                        doc);
                                    }
                                    return ExampleRows.row(
                                            r.getString(splitAt),
                                            r.getLong(seqAt),
                                            e,
                                            !isCausal,
                                            withNsp,
                                            false);
                                },
                        Encoders.row(out));
    }

    public static MLReader<PadStage> read() {
        return new DefaultParamsReader<>();
    }
}
