package dev.lmspark.spark.ml;

import dev.lmspark.data.BadInputException;
import dev.lmspark.data.collate.FillInTheMiddle;
import dev.lmspark.data.random.Seeds;
import dev.lmspark.data.tokenizer.LmTokenizer;
import dev.lmspark.data.tokenizer.SpecialTokenIds;
import dev.lmspark.spark.TokenizerSource;
import dev.lmspark.spark.data.DatasetColumns;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.spark.api.java.function.MapFunction;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.ml.param.DoubleParam;
import org.apache.spark.ml.param.LongParam;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.util.DefaultParamsReader;
import org.apache.spark.ml.util.Identifiable;
import org.apache.spark.ml.util.MLReader;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * Fill-in-the-middle ({@link FillInTheMiddle}) at one of two levels:
 *
 * <ul>
 *   <li>{@code document}: tokenizes the text column like {@link TokenizeStage}, with a {@code
 *       fimRate} share of documents cut on characters and rearranged (PSM, or SPM with {@code
 *       spmRate}); keyed on (seed, doc_id). Output: {@code <outputCol>} and its {@code
 *       _word_start}.
 *   <li>{@code context}: rewrites packed sequences' {@code ids}, each EOS-delimited segment with
 *       {@code fimRate}, keeping the length; keyed on (seed, split, seq, segment).
 * </ul>
 */
public final class FimStage extends LmStage
        implements SharedParams.HasInputCol, SharedParams.HasOutputCol, SharedParams.HasSeed {
    private static final long serialVersionUID = 1L;
    static final long DOCUMENT_STREAM = 21;
    static final long CONTEXT_STREAM = 22;

    private final Param<String> level =
            new Param<>(
                    this,
                    "level",
                    "document or context",
                    (String l) -> l.equals("document") || l.equals("context"));
    private final DoubleParam rate =
            probability(this, "rate", "share of documents or segments rearranged");
    private final DoubleParam spmRate =
            probability(this, "spmRate", "share of rearrangements in SPM order");
    private final Param<String> inputCol =
            new Param<>(this, "inputCol", "text column (document level)");
    private final Param<String> outputCol =
            new Param<>(this, "outputCol", "token ids column (document level)");
    private final LongParam seed = seedParam(this);

    public FimStage(String uid) {
        super(uid);
        setDefault(level, "document");
        setDefault(rate, 0.5);
        setDefault(spmRate, 0.5);
        setDefault(inputCol, "text");
        setDefault(outputCol, "tokens");
        setDefault(seed, 42L);
    }

    public FimStage() {
        this(Identifiable.randomUID("lmspark_fim"));
    }

    public FimStage setTokenizer(String p) {
        set(tokenizer, p);
        return this;
    }

    public FimStage setLevel(String l) {
        set(level, l);
        return this;
    }

    public FimStage setRate(double r) {
        set(rate, r);
        return this;
    }

    public FimStage setSpmRate(double r) {
        set(spmRate, r);
        return this;
    }

    public FimStage setSeed(long s) {
        set(seed, s);
        return this;
    }

    private boolean documentLevel() {
        return getLevel().equals("document");
    }

    public Param<String> level() {
        return level;
    }

    public DoubleParam rate() {
        return rate;
    }

    public DoubleParam spmRate() {
        return spmRate;
    }

    public Param<String> inputCol() {
        return inputCol;
    }

    public Param<String> outputCol() {
        return outputCol;
    }

    public LongParam seed() {
        return seed;
    }

    /** The {@code level} param's value. */
    public String getLevel() {
        return getOrDefault(level);
    }

    /** The {@code rate} param's value. */
    public double getRate() {
        return (Double) getOrDefault(rate);
    }

    /** The {@code spmRate} param's value. */
    public double getSpmRate() {
        return (Double) getOrDefault(spmRate);
    }

    @Override
    public StructType transformSchema(StructType schema) {
        String name = getClass().getSimpleName();
        if (documentLevel()) {
            require(schema, DatasetColumns.DOC_ID, DataTypes.LongType, name);
            require(schema, getInputCol(), DataTypes.StringType, name);
            absent(schema, getOutputCol(), name);
            return schema.add(
                            getOutputCol(),
                            DataTypes.createArrayType(DataTypes.IntegerType, false),
                            false)
                    .add(
                            getOutputCol() + "_word_start",
                            DataTypes.createArrayType(DataTypes.BooleanType, false),
                            false);
        }
        require(
                schema,
                Sequences.IDS,
                DataTypes.createArrayType(DataTypes.IntegerType, false),
                name);
        return schema;
    }

    @Override
    public Dataset<Row> transform(Dataset<?> dataset) {
        StructType out = transformSchema(dataset.schema());
        TokenizerSource source = tokenizerSource(dataset.sparkSession());
        SpecialTokenIds s = source.tokenizer().specials();
        if (!s.hasFim()) {
            throw new BadInputException(
                    "FIM needs a tokenizer with <fim_prefix>, <fim_middle>, <fim_suffix> and <fim_pad>;"
                            + " train one with train-tokenizer --type bpe, or set --fim-rate 0");
        }
        byte[] json = source.json();
        FillInTheMiddle fim =
                new FillInTheMiddle(
                        getRate(),
                        getSpmRate(),
                        s.fimPrefix(),
                        s.fimMiddle(),
                        s.fimSuffix(),
                        s.fimPad());
        long root = getSeed();
        StructType schema = dataset.schema();
        if (documentLevel()) {
            int docAt = schema.fieldIndex(DatasetColumns.DOC_ID);
            int textAt = schema.fieldIndex(getInputCol());
            return dataset.toDF()
                    .mapPartitions(
                            (MapPartitionsFunction<Row, Row>)
                                    rows -> documentLevel(rows, json, fim, root, docAt, textAt),
                            Encoders.row(out));
        }
        int eos = s.eos();
        int splitAt = schema.fieldIndex(Sequences.SPLIT);
        int seqAt = schema.fieldIndex(Sequences.SEQ);
        int idsAt = schema.fieldIndex(Sequences.IDS);
        return dataset.toDF()
                .map(
                        (MapFunction<Row, Row>)
                                r -> {
                                    LmTokenizer tok = TokenizerSource.load(json);
                                    long split = Sequences.splitCode(r.getString(splitAt));
                                    long seq = r.getLong(seqAt);
                                    FillInTheMiddle.ContextResult c =
                                            fim.contextLevel(
                                                    Sequences.ints(r, idsAt),
                                                    eos,
                                                    ids -> tok.decode(ids, false),
                                                    text -> tok.encode(text).ids(),
                                                    segment ->
                                                            Seeds.random(
                                                                    root,
                                                                    CONTEXT_STREAM,
                                                                    split,
                                                                    seq,
                                                                    segment));
                                    Object[] values = TokenizeStage.toArray(r);
                                    values[idsAt] = c.ids();
                                    return RowFactory.create(values);
                                },
                        Encoders.row(out));
    }

    private static final int BATCH = 256;

    /** Document-level FIM over a partition, encoding every piece of a batch in one native call. */
    private static java.util.Iterator<Row> documentLevel(
            java.util.Iterator<Row> input,
            byte[] json,
            FillInTheMiddle fim,
            long root,
            int docAt,
            int textAt) {
        LmTokenizer tok = TokenizerSource.load(json);
        java.util.Iterator<Row> rows = dev.lmspark.spark.TaskRowsProbe.wrap("tokenize", input);
        List<Row> result = new ArrayList<>();
        List<Row> batch = new ArrayList<>(BATCH);
        while (rows.hasNext() || !batch.isEmpty()) {
            if (rows.hasNext() && batch.size() < BATCH) {
                batch.add(rows.next());
                continue;
            }
            List<String> texts = new ArrayList<>();
            List<FillInTheMiddle.Cut> cuts = new ArrayList<>();
            for (Row r : batch) {
                String text = r.getString(textAt);
                FillInTheMiddle.Cut cut =
                        fim.cut(text, Seeds.random(root, DOCUMENT_STREAM, r.getLong(docAt)));
                cuts.add(cut);
                if (cut == null) {
                    texts.add(text);
                } else {
                    texts.add(cut.prefix());
                    texts.add(cut.middle());
                    texts.add(cut.suffix());
                }
            }
            LmTokenizer.Encoded[] encoded = tok.encode(texts);
            int at = 0;
            for (int i = 0; i < batch.size(); i++) {
                Row r = batch.get(i);
                FillInTheMiddle.Cut cut = cuts.get(i);
                LmTokenizer.Encoded e;
                if (cut == null) {
                    e = encoded[at++];
                } else {
                    int[] ids =
                            fim.arrange(
                                    encoded[at].ids(),
                                    encoded[at + 1].ids(),
                                    encoded[at + 2].ids(),
                                    cut.spm());
                    at += 3;
                    boolean[] starts = new boolean[ids.length];
                    Arrays.fill(starts, true);
                    e = new LmTokenizer.Encoded(ids, starts);
                }
                Object[] values = Arrays.copyOf(TokenizeStage.toArray(r), r.length() + 2);
                values[r.length()] = e.ids();
                values[r.length() + 1] = e.wordStart();
                result.add(RowFactory.create(values));
            }
            batch.clear();
        }
        return result.iterator();
    }

    public static MLReader<FimStage> read() {
        return new DefaultParamsReader<>();
    }
}
