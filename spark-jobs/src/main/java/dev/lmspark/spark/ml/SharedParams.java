package dev.lmspark.spark.ml;

import org.apache.spark.ml.param.IntParam;
import org.apache.spark.ml.param.LongParam;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.Params;

/**
 * The params several stages share, as Spark ML's own {@code HasInputCol}, {@code HasSeed}… traits:
 * each names the param and gives its typed getter once. A stage declares the param (Spark ML finds
 * params through the public accessor) and implements the interface.
 */
public final class SharedParams {
    private SharedParams() {}

    /** A tokenizer directory, {@code tokenizer.json} or {@code vocab.txt} (Hadoop path). */
    public interface HasTokenizer extends Params {
        Param<String> tokenizer();

        default String getTokenizer() {
            return getOrDefault(tokenizer());
        }
    }

    /** The root seed of the stage's random choices, keyed on (seed, doc_id, seq). */
    public interface HasSeed extends Params {
        LongParam seed();

        default long getSeed() {
            return (Long) getOrDefault(seed());
        }
    }

    /** The length of the stage's sequences or arrays, in tokens. */
    public interface HasMaxLength extends Params {
        IntParam maxLength();

        default int getMaxLength() {
            return (Integer) getOrDefault(maxLength());
        }
    }

    /** The column the stage reads. */
    public interface HasInputCol extends Params {
        Param<String> inputCol();

        default String getInputCol() {
            return getOrDefault(inputCol());
        }
    }

    /** The column the stage writes. */
    public interface HasOutputCol extends Params {
        Param<String> outputCol();

        default String getOutputCol() {
            return getOrDefault(outputCol());
        }
    }
}
