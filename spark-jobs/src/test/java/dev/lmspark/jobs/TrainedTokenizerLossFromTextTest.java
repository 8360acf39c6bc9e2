package dev.lmspark.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.lmspark.cli.CommandLineRun;
import dev.lmspark.data.collate.Masker;
import dev.lmspark.data.tokenizer.LmTokenizer;
import dev.lmspark.model.Devices;
import dev.lmspark.model.config.ModelConfig;
import dev.lmspark.model.loss.Reduction;
import dev.lmspark.model.task.BertForPretraining;
import dev.lmspark.model.task.BertInputs;
import dev.lmspark.model.task.BertTextBatch;
import dev.lmspark.model.task.TextLossOptions;
import dev.lmspark.spark.SharedSpark;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link BertForPretraining#lossFromText} from raw text with a real {@code tokenizer.json}: the one
 * {@code train-tokenizer --type wordpiece} writes from the sample corpus.
 */
@ExtendWith(SharedSpark.class)
class TrainedTokenizerLossFromTextTest {
    private static final String A =
            "The old harbour town wakes early, and the fishing boats leave before the sun rises"
                    + " over the grey hills to the east of the river.";
    private static final String B =
            "By noon the market square is full of traders selling bread, cheese and fresh fish"
                    + " to the families who come down from the farms.";

    @TempDir Path dir;

    private static float value(NDArray scalar) {
        return scalar.toFloatArray()[0];
    }

    @Test
    void anUntrainedModelsLossFromRawTextIsNearLnV() throws Exception {
        Path corpus = dir.resolve("corpus");
        Path tokenizerDir = dir.resolve("tokenizer");
        for (String[] args :
                List.of(
                        new String[] {
                            "sample-corpus", "--output", corpus.toString(), "--size-mb", "0.3"
                        },
                        new String[] {
                            "train-tokenizer",
                            "--input",
                            corpus.toString(),
                            "--output",
                            tokenizerDir.toString(),
                            "--type",
                            "wordpiece",
                            "--lowercase",
                            "--vocab-size",
                            "800"
                        })) {
            CommandLineRun r = CommandLineRun.of(args);
            assertEquals(0, r.status(), String.join(" ", args) + " failed: " + r.err());
        }

        try (LmTokenizer tokenizer =
                        LmTokenizer.fromJson(
                                Files.readAllBytes(tokenizerDir.resolve("tokenizer.json")));
                NDManager manager = NDManager.newBaseManager(Device.cpu(), Devices.ENGINE)) {
            int vocab = tokenizer.vocabSize();
            assertTrue(vocab > 100 && vocab <= 800, "vocabulary of " + vocab);
            BertForPretraining model =
                    BertForPretraining.initialize(
                            ModelConfig.preset("bert-tiny").withVocabSize(vocab), manager, 11);
            double lnV = Math.log(vocab);
            TextLossOptions options = TextLossOptions.defaults().withSeed(5);

            float pair = value(model.lossFromText(manager, tokenizer, A, B, 0, options));
            assertTrue(Float.isFinite(pair) && pair > 0, "pair loss " + pair);
            // MLM ≈ ln V for near-uniform predictions, NSP ≈ ln 2.
            assertEquals(lnV + Math.log(2), pair, 1.0, "pair loss vs ln V + ln 2");
            float pairMlm =
                    value(
                            model.lossFromText(
                                    manager, tokenizer, A, B, 0, options.withWeights(1, 0)));
            assertEquals(Math.log(2), pair - pairMlm, 0.5, "NSP term vs ln 2");

            float single = value(model.lossFromText(manager, tokenizer, A, null, 0, options));
            assertTrue(Float.isFinite(single) && single > 0, "single loss " + single);
            assertEquals(lnV, single, 1.0, "single-segment loss vs ln V = " + lnV);

            // With textB null the result is the MLM loss alone, computed here step by step.
            BertTextBatch batch =
                    BertTextBatch.encode(tokenizer, List.of(A), null, options.maxLength(), manager);
            Masker masker =
                    new Masker(
                            options.masking(),
                            tokenizer.specials().mask(),
                            vocab,
                            tokenizer.specialIds());
            NDArray[] masked =
                    BertForPretraining.createMaskedLmInputs(
                            batch.inputIds(),
                            batch.attentionMask(),
                            batch.specialTokensMask(),
                            batch.wordStart(),
                            masker,
                            options.seed());
            long predicted = masked[1].neq(Masker.IGNORE).sum().toLongArray()[0];
            assertTrue(predicted > 0, "no position was masked");
            float mlmOnly =
                    value(
                            model.mlmLoss(
                                    masked[1],
                                    BertInputs.of(
                                            masked[0], batch.attentionMask(), batch.tokenTypeIds()),
                                    Masker.IGNORE,
                                    Reduction.MEAN));
            assertEquals(mlmOnly, single, 1e-6f);

            // The same seed gives the same bits; another seed masks other positions.
            assertEquals(
                    Float.floatToIntBits(pair),
                    Float.floatToIntBits(
                            value(model.lossFromText(manager, tokenizer, A, B, 0, options))));
            assertEquals(
                    Float.floatToIntBits(single),
                    Float.floatToIntBits(
                            value(model.lossFromText(manager, tokenizer, A, null, 1, options))));
            assertNotEquals(
                    pair,
                    value(model.lossFromText(manager, tokenizer, A, B, 0, options.withSeed(6))));
        }
    }
}
