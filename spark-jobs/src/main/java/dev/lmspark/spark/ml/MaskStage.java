package dev.lmspark.spark.ml;

import dev.lmspark.data.BadInputException;
import dev.lmspark.data.collate.Masker;
import dev.lmspark.data.collate.MaskingConfig;
import dev.lmspark.data.random.Seeds;
import dev.lmspark.data.tokenizer.LmTokenizer;
import dev.lmspark.spark.data.DatasetColumns;
import java.util.Arrays;
import org.apache.spark.api.java.function.MapFunction;
import org.apache.spark.ml.param.BooleanParam;
import org.apache.spark.ml.param.DoubleParam;
import org.apache.spark.ml.param.IntParam;
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
 * BERT masking of sequence rows ({@link Masker}): adds {@code input_ids} (masked) and {@code
 * labels}, keyed on (seed, doc_id, seq). Special tokens (of the tokenizer) are never chosen.
 */
public final class MaskStage extends LmStage implements SharedParams.HasSeed {
    private static final long serialVersionUID = 1L;
    static final long STREAM = 31;

    private final Param<String> strategy =
            new Param<>(
                    this,
                    "strategy",
                    "bernoulli or fixed-count",
                    (String s) -> s.equals("bernoulli") || s.equals("fixed-count"));
    private final DoubleParam mlmProbability =
            probability(this, "mlmProbability", "share of tokens predicted");
    private final DoubleParam maskReplaceProb =
            probability(this, "maskReplaceProb", "share of predicted tokens set to [MASK]");
    private final DoubleParam randomReplaceProb =
            probability(this, "randomReplaceProb", "share set to a random token");
    private final IntParam maxPredictions =
            intParam(this, "maxPredictions", "cap for fixed-count", 1);
    private final BooleanParam wholeWord = flag(this, "wholeWord", "mask whole words");
    private final LongParam seed = seedParam(this);

    public MaskStage(String uid) {
        super(uid);
        setDefault(strategy, "bernoulli");
        setDefault(mlmProbability, 0.15);
        setDefault(maskReplaceProb, 0.8);
        setDefault(randomReplaceProb, 0.1);
        setDefault(maxPredictions, 20);
        setDefault(wholeWord, false);
        setDefault(seed, 42L);
    }

    public MaskStage() {
        this(Identifiable.randomUID("lmspark_mask"));
    }

    public MaskStage setTokenizer(String p) {
        set(tokenizer, p);
        return this;
    }

    /** Sets every masking param from a config. */
    public MaskStage setConfig(MaskingConfig c) {
        set(strategy, c.strategy().cliName());
        set(mlmProbability, c.mlmProbability());
        set(maskReplaceProb, c.maskReplaceProb());
        set(randomReplaceProb, c.randomReplaceProb());
        set(maxPredictions, c.maxPredictions());
        set(wholeWord, c.wholeWord());
        return this;
    }

    public MaskStage setSeed(long s) {
        set(seed, s);
        return this;
    }

    /** The masking config the params describe. */
    public MaskingConfig config() {
        return new MaskingConfig(
                MaskingConfig.Strategy.fromCliName(getStrategy()),
                getMlmProbability(),
                getMaskReplaceProb(),
                getRandomReplaceProb(),
                getMaxPredictions(),
                getWholeWord());
    }

    public Param<String> strategy() {
        return strategy;
    }

    public DoubleParam mlmProbability() {
        return mlmProbability;
    }

    public DoubleParam maskReplaceProb() {
        return maskReplaceProb;
    }

    public DoubleParam randomReplaceProb() {
        return randomReplaceProb;
    }

    public IntParam maxPredictions() {
        return maxPredictions;
    }

    public BooleanParam wholeWord() {
        return wholeWord;
    }

    public LongParam seed() {
        return seed;
    }

    /** The {@code strategy} param's value. */
    public String getStrategy() {
        return getOrDefault(strategy);
    }

    /** The {@code mlmProbability} param's value. */
    public double getMlmProbability() {
        return (Double) getOrDefault(mlmProbability);
    }

    /** The {@code maskReplaceProb} param's value. */
    public double getMaskReplaceProb() {
        return (Double) getOrDefault(maskReplaceProb);
    }

    /** The {@code randomReplaceProb} param's value. */
    public double getRandomReplaceProb() {
        return (Double) getOrDefault(randomReplaceProb);
    }

    /** The {@code maxPredictions} param's value. */
    public int getMaxPredictions() {
        return (Integer) getOrDefault(maxPredictions);
    }

    /** The {@code wholeWord} param's value. */
    public boolean getWholeWord() {
        return (Boolean) getOrDefault(wholeWord);
    }

    @Override
    public StructType transformSchema(StructType schema) {
        String name = getClass().getSimpleName();
        var ints = DataTypes.createArrayType(DataTypes.IntegerType, false);
        require(schema, Sequences.IDS, ints, name);
        require(schema, DatasetColumns.DOC_ID, DataTypes.LongType, name);
        require(schema, Sequences.SEQ, DataTypes.LongType, name);
        absent(schema, DatasetColumns.INPUT_IDS, name);
        absent(schema, DatasetColumns.LABELS, name);
        return schema.add(DatasetColumns.INPUT_IDS, ints, false)
                .add(DatasetColumns.LABELS, ints, false);
    }

    @Override
    public Dataset<Row> transform(Dataset<?> dataset) {
        StructType out = transformSchema(dataset.schema());
        LmTokenizer tok = tokenizerSource(dataset.sparkSession()).tokenizer();
        if (tok.specials().mask() == null) {
            throw new BadInputException("masking needs a tokenizer with a [MASK] token");
        }
        Masker masker =
                new Masker(config(), tok.specials().mask(), tok.vocabSize(), tok.specialIds());
        var special = tok.specialIds();
        long root = getSeed();
        StructType schema = dataset.schema();
        int docAt = schema.fieldIndex(DatasetColumns.DOC_ID);
        int seqAt = schema.fieldIndex(Sequences.SEQ);
        int idsAt = schema.fieldIndex(Sequences.IDS);
        int startsAt = schema.fieldIndex(DatasetColumns.WORD_START);
        return dataset.toDF()
                .map(
                        (MapFunction<Row, Row>)
                                r -> {
                                    int[] ids = Sequences.ints(r, idsAt);
                                    boolean[] starts = Sequences.booleans(r, startsAt);
                                    if (starts == null) {
                                        starts = new boolean[ids.length];
                                        Arrays.fill(starts, true);
                                    }
                                    boolean[] isSpecial = new boolean[ids.length];
                                    for (int i = 0; i < ids.length; i++) {
                                        isSpecial[i] = special.get(ids[i]);
                                    }
                                    Masker.Result m =
                                            masker.mask(
                                                    ids,
                                                    isSpecial,
                                                    starts,
                                                    Seeds.random(
                                                            root,
                                                            STREAM,
                                                            r.getLong(docAt),
                                                            r.getLong(seqAt)));
                                    Object[] values =
                                            Arrays.copyOf(TokenizeStage.toArray(r), r.length() + 2);
                                    values[r.length()] = m.inputIds();
                                    values[r.length() + 1] = m.labels();
                                    return RowFactory.create(values);
                                },
                        Encoders.row(out));
    }

    public static MLReader<MaskStage> read() {
        return new DefaultParamsReader<>();
    }
}
