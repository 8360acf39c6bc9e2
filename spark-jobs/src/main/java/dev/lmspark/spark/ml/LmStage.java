package dev.lmspark.spark.ml;

import dev.lmspark.data.BadInputException;
import dev.lmspark.spark.TokenizerSource;
import java.util.Arrays;
import org.apache.spark.ml.Transformer;
import org.apache.spark.ml.param.BooleanParam;
import org.apache.spark.ml.param.DoubleParam;
import org.apache.spark.ml.param.IntParam;
import org.apache.spark.ml.param.LongParam;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.ml.param.ParamValidators;
import org.apache.spark.ml.util.DefaultParamsWritable;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

/** What every lmspark stage shares: its uid, saving, a tokenizer param and schema checks. */
abstract class LmStage extends Transformer
        implements DefaultParamsWritable, SharedParams.HasTokenizer {
    private static final long serialVersionUID = 1L;

    private final String uid;

    /** A tokenizer directory, {@code tokenizer.json} or {@code vocab.txt} (Hadoop path). */
    final Param<String> tokenizer;

    LmStage(String uid) {
        this.uid = uid;
        this.tokenizer =
                new Param<>(
                        this,
                        "tokenizer",
                        "tokenizer directory, tokenizer.json or BERT vocab.txt (Hadoop path)",
                        (String s) -> s != null && !s.isBlank());
    }

    /** The tokenizer param (Spark ML finds params through such public methods). */
    @Override
    public Param<String> tokenizer() {
        return tokenizer;
    }

    @Override
    public String uid() {
        return uid;
    }

    /** Loads the tokenizer on the driver (checked there, shipped to executors as bytes). */
    TokenizerSource tokenizerSource(SparkSession spark) {
        if (!isDefined(tokenizer)) {
            throw new BadInputException(
                    getClass().getSimpleName() + " needs its tokenizer param set");
        }
        return TokenizerSource.read(
                getTokenizer(), false, spark.sparkContext().hadoopConfiguration());
    }

    @SuppressWarnings("unchecked")
    @Override
    public Transformer copy(ParamMap extra) {
        return defaultCopy(extra);
    }

    static IntParam intParam(LmStage s, String name, String doc, int min) {
        return new IntParam(s, name, doc, ParamValidators.gtEq(min));
    }

    static DoubleParam probability(LmStage s, String name, String doc) {
        return new DoubleParam(s, name, doc, ParamValidators.inRange(0, 1));
    }

    static LongParam seedParam(LmStage s) {
        return new LongParam(s, "seed", "root seed of every random choice");
    }

    static BooleanParam flag(LmStage s, String name, String doc) {
        return new BooleanParam(s, name, doc);
    }

    /** Fails before any data moves when a column is missing or has the wrong type. */
    static void require(StructType schema, String column, DataType type, String stage) {
        StructField f =
                Arrays.stream(schema.fields())
                        .filter(x -> x.name().equals(column))
                        .findFirst()
                        .orElseThrow(
                                () ->
                                        new IllegalArgumentException(
                                                stage
                                                        + " needs column '"
                                                        + column
                                                        + "'; the input has "
                                                        + String.join(", ", schema.fieldNames())));
        if (!f.dataType().sameType(type)) {
            throw new IllegalArgumentException(
                    stage
                            + ": column '"
                            + column
                            + "' is "
                            + f.dataType().simpleString()
                            + ", expected "
                            + type.simpleString());
        }
    }

    /** Fails when an output column would overwrite an existing one. */
    static void absent(StructType schema, String column, String stage) {
        if (Arrays.asList(schema.fieldNames()).contains(column)) {
            throw new IllegalArgumentException(
                    stage + ": output column '" + column + "' already exists");
        }
    }
}
