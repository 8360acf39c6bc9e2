package dev.lmspark.spark.ml;

import dev.lmspark.data.collate.SentenceSplitter;
import dev.lmspark.data.tokenizer.LmTokenizer;
import dev.lmspark.spark.TaskRowsProbe;
import dev.lmspark.spark.TokenizerSource;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.ml.param.BooleanParam;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.util.DefaultParamsReader;
import org.apache.spark.ml.util.Identifiable;
import org.apache.spark.ml.util.MLReader;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * Tokenizes a text column without special tokens: {@code <outputCol>} holds the ids and {@code
 * <outputCol>_word_start} the word-start flags — as arrays, or with {@code sentences=true} as one
 * array per sentence (for next-sentence pairs and sentence packing). Texts are encoded in batches;
 * the tokenizer is loaded once per executor JVM.
 */
public final class TokenizeStage extends LmStage
        implements SharedParams.HasInputCol, SharedParams.HasOutputCol {
    private static final long serialVersionUID = 1L;
    private static final int BATCH = 256;

    private final Param<String> inputCol = new Param<>(this, "inputCol", "text column");
    private final Param<String> outputCol = new Param<>(this, "outputCol", "token ids column");
    private final BooleanParam sentences = flag(this, "sentences", "split into sentences first");

    public TokenizeStage(String uid) {
        super(uid);
        setDefault(inputCol, "text");
        setDefault(outputCol, "tokens");
        setDefault(sentences, false);
    }

    public TokenizeStage() {
        this(Identifiable.randomUID("lmspark_tokenize"));
    }

    public TokenizeStage setTokenizer(String path) {
        set(tokenizer, path);
        return this;
    }

    public TokenizeStage setInputCol(String c) {
        set(inputCol, c);
        return this;
    }

    public TokenizeStage setOutputCol(String c) {
        set(outputCol, c);
        return this;
    }

    public TokenizeStage setSentences(boolean s) {
        set(sentences, s);
        return this;
    }

    public Param<String> inputCol() {
        return inputCol;
    }

    public Param<String> outputCol() {
        return outputCol;
    }

    public BooleanParam sentences() {
        return sentences;
    }

    /** The {@code sentences} param's value. */
    public boolean getSentences() {
        return (Boolean) getOrDefault(sentences);
    }

    @Override
    public StructType transformSchema(StructType schema) {
        String name = getClass().getSimpleName();
        require(schema, getInputCol(), DataTypes.StringType, name);
        absent(schema, getOutputCol(), name);
        boolean bySentence = getSentences();
        DataType ids = DataTypes.createArrayType(DataTypes.IntegerType, false);
        DataType starts = DataTypes.createArrayType(DataTypes.BooleanType, false);
        if (bySentence) {
            ids = DataTypes.createArrayType(ids, false);
            starts = DataTypes.createArrayType(starts, false);
        }
        return schema.add(getOutputCol(), ids, false)
                .add(getOutputCol() + "_word_start", starts, false);
    }

    @Override
    public Dataset<Row> transform(Dataset<?> dataset) {
        StructType out = transformSchema(dataset.schema());
        byte[] json = tokenizerSource(dataset.sparkSession()).json();
        int column = dataset.schema().fieldIndex(getInputCol());
        boolean bySentence = getSentences();
        return dataset.toDF()
                .mapPartitions(
                        (MapPartitionsFunction<Row, Row>)
                                rows -> tokenize(rows, json, column, bySentence),
                        Encoders.row(out));
    }

    private static Iterator<Row> tokenize(
            Iterator<Row> input, byte[] json, int column, boolean bySentence) {
        LmTokenizer tok = TokenizerSource.load(json);
        Iterator<Row> rows = TaskRowsProbe.wrap("tokenize", input);
        return new Iterator<>() {
            private final List<Row> ready = new ArrayList<>();
            private int next;

            @Override
            public boolean hasNext() {
                if (next < ready.size()) {
                    return true;
                }
                ready.clear();
                next = 0;
                List<Row> batch = new ArrayList<>(BATCH);
                while (batch.size() < BATCH && rows.hasNext()) {
                    batch.add(rows.next());
                }
                if (batch.isEmpty()) {
                    return false;
                }
                List<String> texts = new ArrayList<>();
                List<Integer> counts = new ArrayList<>();
                for (Row r : batch) {
                    if (bySentence) {
                        List<String> s = SentenceSplitter.split(r.getString(column));
                        texts.addAll(s);
                        counts.add(s.size());
                    } else {
                        texts.add(r.getString(column));
                        counts.add(1);
                    }
                }
                LmTokenizer.Encoded[] encoded = tok.encode(texts);
                int at = 0;
                for (int b = 0; b < batch.size(); b++) {
                    Row r = batch.get(b);
                    Object[] values = Arrays.copyOf(toArray(r), r.length() + 2);
                    if (bySentence) {
                        int n = counts.get(b);
                        int[][] ids = new int[n][];
                        boolean[][] starts = new boolean[n][];
                        for (int k = 0; k < n; k++) {
                            ids[k] = encoded[at + k].ids();
                            starts[k] = encoded[at + k].wordStart();
                        }
                        values[r.length()] = ids;
                        values[r.length() + 1] = starts;
                    } else {
                        values[r.length()] = encoded[at].ids();
                        values[r.length() + 1] = encoded[at].wordStart();
                    }
                    at += counts.get(b);
                    ready.add(RowFactory.create(values));
                }
                return true;
            }

            @Override
            public Row next() {
                if (!hasNext()) {
                    throw new java.util.NoSuchElementException();
                }
                return ready.get(next++);
            }
        };
    }

    static Object[] toArray(Row r) {
        Object[] values = new Object[r.length()];
        for (int i = 0; i < values.length; i++) {
            values[i] = r.get(i);
        }
        return values;
    }

    public static MLReader<TokenizeStage> read() {
        return new DefaultParamsReader<>();
    }

    public static TokenizeStage load(String path) {
        return read().load(path);
    }
}
