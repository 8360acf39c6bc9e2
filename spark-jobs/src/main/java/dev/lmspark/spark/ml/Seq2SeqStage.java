package dev.lmspark.spark.ml;

import dev.lmspark.data.BadInputException;
import dev.lmspark.data.collate.ExampleAssembler;
import dev.lmspark.data.collate.Seq2SeqRows;
import dev.lmspark.data.random.Seeds;
import dev.lmspark.data.tokenizer.LmTokenizer;
import dev.lmspark.spark.TokenizerSource;
import dev.lmspark.spark.data.DatasetColumns;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.ml.param.IntParam;
import org.apache.spark.ml.param.LongParam;
import org.apache.spark.ml.util.DefaultParamsReader;
import org.apache.spark.ml.util.Identifiable;
import org.apache.spark.ml.util.MLReader;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * The seq2seq rows of {@link Seq2SeqRows} from {@code prefix} and {@code target} text columns: a
 * training row for each {@code train} document; for each {@code validation} document a validation
 * row and a {@code predict} row (prefix only, left-padded, reference in {@code target_ids}).
 * Masking is keyed on (seed, doc_id).
 */
public final class Seq2SeqStage extends LmStage
        implements SharedParams.HasMaxLength, SharedParams.HasSeed {
    private static final long serialVersionUID = 1L;
    static final long STREAM = 41;

    private final IntParam maxLength = intParam(this, "maxLength", "length of every array", 4);
    private final LongParam seed = seedParam(this);

    public Seq2SeqStage(String uid) {
        super(uid);
        setDefault(maxLength, 128);
        setDefault(seed, 42L);
    }

    public Seq2SeqStage() {
        this(Identifiable.randomUID("lmspark_seq2seq"));
    }

    public Seq2SeqStage setTokenizer(String p) {
        set(tokenizer, p);
        return this;
    }

    public Seq2SeqStage setMaxLength(int n) {
        set(maxLength, n);
        return this;
    }

    public Seq2SeqStage setSeed(long s) {
        set(seed, s);
        return this;
    }

    public IntParam maxLength() {
        return maxLength;
    }

    public LongParam seed() {
        return seed;
    }

    @Override
    public StructType transformSchema(StructType schema) {
        String name = getClass().getSimpleName();
        require(schema, Sequences.SPLIT, DataTypes.StringType, name);
        require(schema, DatasetColumns.DOC_ID, DataTypes.LongType, name);
        require(schema, "prefix", DataTypes.StringType, name);
        require(schema, "target", DataTypes.StringType, name);
        return ExampleRows.schema(false, false, true);
    }

    @Override
    public Dataset<Row> transform(Dataset<?> dataset) {
        StructType out = transformSchema(dataset.schema());
        TokenizerSource source = tokenizerSource(dataset.sparkSession());
        var s = source.tokenizer().specials();
        if (s.cls() == null || s.sep() == null || s.mask() == null) {
            throw new BadInputException(
                    "mlm-seq2seq needs a tokenizer with [CLS], [SEP] and [MASK]");
        }
        byte[] json = source.json();
        int n = getMaxLength();
        var special = source.tokenizer().specialIds();
        Seq2SeqRows rows =
                new Seq2SeqRows(
                        new ExampleAssembler(
                                n, false, s.padOrEos(), special, s.cls(), s.sep(), null),
                        new ExampleAssembler(
                                n, true, s.padOrEos(), special, s.cls(), s.sep(), null),
                        s.cls(),
                        s.sep(),
                        s.mask());
        long root = getSeed();
        StructType schema = dataset.schema();
        int splitAt = schema.fieldIndex(Sequences.SPLIT);
        int docAt = schema.fieldIndex(DatasetColumns.DOC_ID);
        int prefixAt = schema.fieldIndex("prefix");
        int targetAt = schema.fieldIndex("target");
        return dataset.toDF()
                .mapPartitions(
                        (MapPartitionsFunction<Row, Row>)
                                it -> {
                                    LmTokenizer tok = TokenizerSource.load(json);
                                    List<Row> result = new ArrayList<>();
                                    while (it.hasNext()) {
                                        Row r = it.next();
                                        String split = r.getString(splitAt);
                                        long doc = r.getLong(docAt);
                                        int[] prefix = tok.encode(r.getString(prefixAt)).ids();
                                        int[] target = tok.encode(r.getString(targetAt)).ids();
                                        var train =
                                                rows.train(
                                                        prefix,
                                                        target,
                                                        doc,
                                                        Seeds.random(root, STREAM, doc));
                                        result.add(
                                                ExampleRows.row(
                                                        split,
                                                        0,
                                                        train.example(),
                                                        false,
                                                        false,
                                                        true));
                                        if (split.equals("validation")) {
                                            result.add(
                                                    ExampleRows.row(
                                                            "predict",
                                                            0,
                                                            rows.predict(prefix, target, doc)
                                                                    .example(),
                                                            false,
                                                            false,
                                                            true));
                                        }
                                    }
                                    return result.iterator();
                                },
                        Encoders.row(out));
    }

    public static MLReader<Seq2SeqStage> read() {
        return new DefaultParamsReader<>();
    }
}
