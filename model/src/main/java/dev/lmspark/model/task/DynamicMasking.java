package dev.lmspark.model.task;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.lmspark.data.collate.Masker;
import dev.lmspark.data.random.Seeds;

/**
 * BERT masking of a batch of token ids with the data-preparation code itself ({@link Masker}), as
 * Hugging Face's {@code DataCollatorForLanguageModeling} masks at batch time: row r draws from
 * (seed, r), so the same batch and seed mask the same positions wherever they run.
 */
final class DynamicMasking {
    private DynamicMasking() {}

    /**
     * See {@link BertForPretraining#createMaskedLmInputs(NDArray, NDArray, NDArray, NDArray,
     * Masker, long)}.
     */
    static NDArray[] mask(
            NDArray inputIds,
            NDArray attentionMask,
            NDArray specialTokensMask,
            NDArray wordStart,
            Masker masker,
            long seed) {
        long[] shape = inputIds.getShape().getShape();
        int b = (int) shape[0];
        int t = (int) shape[1];
        long[] ids = inputIds.toType(DataType.INT64, false).toLongArray();
        long[] mask =
                attentionMask == null
                        ? null
                        : attentionMask.toType(DataType.INT64, false).toLongArray();
        long[] special =
                specialTokensMask == null
                        ? null
                        : specialTokensMask.toType(DataType.INT64, false).toLongArray();
        long[] words =
                wordStart == null ? null : wordStart.toType(DataType.INT64, false).toLongArray();
        int[] outIds = new int[b * t];
        int[] outLabels = new int[b * t];
        for (int r = 0; r < b; r++) {
            int[] row = new int[t];
            boolean[] protect = new boolean[t];
            boolean[] starts = new boolean[t];
            for (int i = 0; i < t; i++) {
                row[i] = (int) ids[r * t + i];
                protect[i] =
                        (mask != null && mask[r * t + i] == 0)
                                || (special != null && special[r * t + i] == 1);
                starts[i] = words == null || words[r * t + i] == 1;
            }
            Masker.Result res = masker.mask(row, protect, starts, Seeds.random(seed, r));
            System.arraycopy(res.inputIds(), 0, outIds, r * t, t);
            System.arraycopy(res.labels(), 0, outLabels, r * t, t);
        }
        NDManager m = inputIds.getManager();
        return new NDArray[] {
            m.create(outIds, new Shape(b, t)).toType(DataType.INT64, false),
            m.create(outLabels, new Shape(b, t)).toType(DataType.INT64, false)
        };
    }
}
