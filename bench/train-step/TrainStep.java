import ai.djl.Model;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.transformer.BertBlock;
import ai.djl.nn.transformer.BertPretrainingBlock;
import ai.djl.nn.transformer.BertPretrainingLoss;
import ai.djl.pytorch.jni.JniUtils;
import ai.djl.training.DefaultTrainingConfig;
import ai.djl.training.EasyTrain;
import ai.djl.training.Trainer;
import ai.djl.training.dataset.Batch;
import ai.djl.training.optimizer.Optimizer;
import ai.djl.training.tracker.Tracker;
import ai.djl.translate.Batchifier;
import com.sun.management.OperatingSystemMXBean;
import dev.lmspark.model.Devices;
import dev.lmspark.model.config.ModelConfig;
import dev.lmspark.model.nn.Transformer;
import dev.lmspark.model.optim.LearningRateSchedule;
import dev.lmspark.model.task.BertForPretraining;
import dev.lmspark.model.task.CausalLm;
import dev.lmspark.model.train.PretrainingTask;
import dev.lmspark.model.train.ShardBatch;
import dev.lmspark.model.train.TrainingStep;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.SplittableRandom;

/**
 * bench/train-step, the JVM side: seconds per full training step (forward, backward, global-norm
 * clip, AdamW) of lmspark's model classes and of DJL's stock {@link BertPretrainingBlock} (with its
 * {@link BertPretrainingLoss} and DJL's Adam through a stock {@link Trainer}) on the same synthetic
 * batches, plus the fp32 matmul peak. Prints {@code result side=… key=value …} lines for run.sh.
 *
 * <p>Usage: {@code TrainStep --preset bert-mini --steps 10 --warmup 3 [--sides peak,djl,lmspark]
 * [--profile DIR]}; with {@code --profile}, one more step of each side runs under the PyTorch
 * profiler and its Chrome trace lands in {@code DIR/<side>.json}. The thread counts come from the
 * JVM flags {@code -Dai.djl.pytorch.num_threads} and {@code -Dai.djl.pytorch.num_interop_threads}
 * that run.sh sets.
 */
public final class TrainStep {
    static final int B = 16;
    static final int T = 128;
    static final int V = 8192;

    /** Google BERT's max_predictions_per_seq at T = 128 (≈ 0.15 × 128). */
    static final int PREDICTIONS = 20;

    static final int CLS = 2;
    static final int SEP = 3;
    static final int MASK = 4;
    static final int FIRST_WORD = 5;
    static final int BATCHES = 4;

    /** One synthetic batch, as plain arrays: both sides build their NDArrays from these. */
    record Data(
            long[] ids,
            long[] types,
            long[] positions, // (B, PREDICTIONS) predicted positions, ascending per row
            long[] targets, // (B, PREDICTIONS) original ids at those positions
            long[] labels, // (B, T) targets at predicted positions, -100 elsewhere
            long[] nsp) {}

    /**
     * [CLS] A [SEP] B [SEP] rows with segment A of T/2 − 2 tokens; 20 predicted positions per row
     * (never a special token), 80% [MASK], 10% random, 10% unchanged, as BERT masks.
     */
    static Data batch(long seed) {
        Random r = new Random(seed);
        long[] ids = new long[B * T];
        long[] types = new long[B * T];
        long[] positions = new long[B * PREDICTIONS];
        long[] targets = new long[B * PREDICTIONS];
        long[] labels = new long[B * T];
        long[] nsp = new long[B];
        Arrays.fill(labels, -100);
        int sepA = T / 2 - 1;
        for (int b = 0; b < B; b++) {
            List<Integer> candidates = new ArrayList<>();
            for (int t = 0; t < T; t++) {
                int id;
                if (t == 0) {
                    id = CLS;
                } else if (t == sepA || t == T - 1) {
                    id = SEP;
                } else {
                    id = FIRST_WORD + r.nextInt(V - FIRST_WORD);
                    candidates.add(t);
                }
                ids[b * T + t] = id;
                types[b * T + t] = t > sepA ? 1 : 0;
            }
            java.util.Collections.shuffle(candidates, r);
            List<Integer> chosen = new ArrayList<>(candidates.subList(0, PREDICTIONS));
            chosen.sort(null);
            for (int k = 0; k < PREDICTIONS; k++) {
                int t = chosen.get(k);
                long original = ids[b * T + t];
                positions[b * PREDICTIONS + k] = t;
                targets[b * PREDICTIONS + k] = original;
                labels[b * T + t] = original;
                double u = r.nextDouble();
                if (u < 0.8) {
                    ids[b * T + t] = MASK;
                } else if (u < 0.9) {
                    ids[b * T + t] = FIRST_WORD + r.nextInt(V - FIRST_WORD);
                }
            }
            nsp[b] = r.nextInt(2);
        }
        return new Data(ids, types, positions, targets, labels, nsp);
    }

    /** Plain token sequences for the causal model: labels are the ids (the model shifts). */
    static Data causalBatch(long seed) {
        Random r = new Random(seed);
        long[] ids = new long[B * T];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = FIRST_WORD + r.nextInt(V - FIRST_WORD);
        }
        return new Data(ids, null, null, null, ids, null);
    }

    /** One timed side: setup outside the clock, then {@code step()} once per step. */
    interface Side extends AutoCloseable {
        void step(int step);

        /** The loss on the first batch in inference mode, a sanity check that training works. */
        float loss();

        @Override
        void close();
    }

    public static void main(String[] args) throws Exception {
        String preset = "bert-mini";
        int steps = 10;
        int warmup = 3;
        List<String> sides = List.of("peak", "djl", "lmspark");
        String profile = null;
        for (int i = 0; i < args.length; i += 2) {
            switch (args[i]) {
                case "--preset" -> preset = args[i + 1];
                case "--steps" -> steps = Integer.parseInt(args[i + 1]);
                case "--warmup" -> warmup = Integer.parseInt(args[i + 1]);
                case "--sides" -> sides = List.of(args[i + 1].split(","));
                case "--profile" -> profile = args[i + 1];
                default -> throw new IllegalArgumentException("unknown flag " + args[i]);
            }
        }
        Engine engine = Devices.engine();
        System.out.printf(
                Locale.ROOT,
                "result side=engine djl=%s libtorch=%s threads=%d interop_threads=%d%n",
                Engine.getDjlVersion(),
                engine.getVersion(),
                JniUtils.getNumThreads(),
                JniUtils.getNumInteropThreads());
        ModelConfig config = ModelConfig.preset(preset).withVocabSize(V).withMaxPositions(T);
        boolean bert = config.architecture().equals("bert");
        System.out.printf(
                Locale.ROOT,
                "result side=flops tokens=%d training_flops=%.6e%n",
                B * T,
                trainingFlops(config));
        if (sides.contains("peak")) {
            System.out.printf(Locale.ROOT, "result side=peak flops_per_s=%.6e%n", matmulPeak());
        }
        Map<String, Side> timed = new LinkedHashMap<>();
        try {
            if (sides.contains("djl") && bert) {
                timed.put("djl", new DjlBert(config));
            }
            if (sides.contains("lmspark")) {
                timed.put("lmspark", new Lmspark(config));
            }
            run(timed, steps, warmup);
            if (profile != null) {
                for (Map.Entry<String, Side> e : timed.entrySet()) {
                    JniUtils.startProfile(false, true, false);
                    e.getValue().step(warmup + steps);
                    JniUtils.stopProfile(profile + "/" + e.getKey() + ".json");
                }
            }
        } finally {
            timed.values().forEach(Side::close);
        }
    }

    /**
     * Training FLOPs of one step, as bench/train-step defines them for MFU (README "Benchmarks"): 3
     * × forward, forward = 2 × (non-embedding weight-matrix parameters) × tokens + 4 × layers × B ×
     * T² × hidden (attention scores and mixing) + 2 × (head matrix parameters) × the positions the
     * head is evaluated at. BERT's MLM head (dense H×H and the tied V×H decoder) runs at the
     * predicted positions, its pooler and NSP matrices (H×H, 2×H) at one position per sequence;
     * Llama's lm_head (V×H) runs at every token. Biases, norms and embedding look-ups are not
     * matrix products and do not count.
     */
    static double trainingFlops(ModelConfig c) {
        long tokens = (long) B * T;
        long h = c.hiddenSize();
        long trunkMatrices = 0;
        for (Map.Entry<String, Shape> e : Transformer.parameterShapes(c).entrySet()) {
            if (e.getValue().dimension() == 2 && !e.getKey().startsWith("embeddings.")) {
                trunkMatrices += e.getValue().size();
            }
        }
        double forward = 2.0 * trunkMatrices * tokens;
        forward += 4.0 * c.numLayers() * B * (double) T * T * h;
        if (c.architecture().equals("bert")) {
            forward += 2.0 * (h * h + (long) c.vocabSize() * h) * B * PREDICTIONS;
            forward += 2.0 * (h * h + 2 * h) * B;
        } else {
            forward += 2.0 * c.vocabSize() * h * tokens;
        }
        return 3 * forward;
    }

    /** Best of 5 fp32 2048×2048×2048 matMul, in FLOP/s (2·n³ per product). */
    static double matmulPeak() {
        int n = 2048;
        try (NDManager m = NDManager.newBaseManager(Devices.forTask(null), Devices.ENGINE)) {
            m.getEngine().setRandomSeed(1);
            NDArray a = m.randomNormal(new Shape(n, n));
            NDArray b = m.randomNormal(new Shape(n, n));
            a.matMul(b).close(); // warm-up
            double best = Double.MAX_VALUE;
            for (int i = 0; i < 5; i++) {
                long start = System.nanoTime();
                NDArray c = a.matMul(b);
                c.getFloat(0, 0); // the product is complete once an element is read
                best = Math.min(best, (System.nanoTime() - start) / 1e9);
                c.close();
            }
            return 2.0 * n * n * n / best;
        }
    }

    /**
     * Warm-up steps, then the timed steps with the sides taking turns step by step, so that both
     * see the same machine (a load burst from elsewhere lands on both, not on one).
     */
    static void run(Map<String, Side> sides, int steps, int warmup) {
        Map<String, Float> before = new LinkedHashMap<>();
        sides.forEach((name, side) -> before.put(name, side.loss()));
        for (int s = 0; s < warmup; s++) {
            for (Side side : sides.values()) {
                side.step(s);
            }
        }
        Map<String, double[][]> times = new LinkedHashMap<>();
        sides.keySet().forEach(name -> times.put(name, new double[2][steps]));
        OperatingSystemMXBean os =
                (OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
        for (int s = 0; s < steps; s++) {
            for (Map.Entry<String, Side> e : sides.entrySet()) {
                long cpu = os.getProcessCpuTime();
                long start = System.nanoTime();
                e.getValue().step(warmup + s);
                times.get(e.getKey())[0][s] = (System.nanoTime() - start) / 1e9;
                times.get(e.getKey())[1][s] = (os.getProcessCpuTime() - cpu) / 1e9;
            }
        }
        times.forEach(
                (name, t) ->
                        System.out.printf(
                                Locale.ROOT,
                                "result side=%s step_seconds=%s cpu_seconds=%s loss_before=%.4f"
                                        + " loss_after=%.4f%n",
                                name,
                                join(t[0]),
                                join(t[1]),
                                before.get(name),
                                sides.get(name).loss()));
    }

    static String join(double[] xs) {
        StringBuilder out = new StringBuilder();
        for (double x : xs) {
            out.append(out.length() == 0 ? "" : ",").append(String.format(Locale.ROOT, "%.4f", x));
        }
        return out.toString();
    }

    /**
     * lmspark's training step ({@link TrainingStep}: the one the distributed trainer runs) on a
     * model: forward, loss, backward, global-norm clip 1, AdamW at lr 1e-4, zeroed gradients.
     */
    static final class Lmspark implements Side {
        final NDManager manager;
        final PretrainingTask model;
        final TrainingStep trainer;
        final ShardBatch[] data = new ShardBatch[BATCHES];

        Lmspark(ModelConfig config) {
            manager = NDManager.newBaseManager(Devices.forTask(null), Devices.ENGINE);
            boolean bert = config.architecture().equals("bert");
            model =
                    bert
                            ? BertForPretraining.initialize(config, manager, 7)
                            : CausalLm.initialize(config, manager, 7);
            trainer =
                    TrainingStep.builder()
                            .setModel(model)
                            .setSchedule(
                                    new LearningRateSchedule(
                                            LearningRateSchedule.Kind.CONSTANT, 1e-4, 0, 1))
                            .optClipNorm(1f)
                            .optWeightDecay(0.01f)
                            .build(manager);
            for (int i = 0; i < BATCHES; i++) {
                data[i] = shardBatch(bert ? batch(100 + i) : causalBatch(100 + i));
            }
        }

        @Override
        public void step(int step) {
            trainer.step(List.of(data[step % BATCHES]), step, new SplittableRandom(step));
        }

        @Override
        public float loss() {
            double loss = 0;
            for (var term : trainer.evaluate(data[0])) {
                loss += term.mean();
            }
            return (float) loss;
        }

        @Override
        public void close() {
            trainer.close();
            manager.close();
        }
    }

    /** A synthetic batch as the shard columns a trainer reads: every token real. */
    static ShardBatch shardBatch(Data d) {
        int[] ids = new int[B * T];
        int[] labels = new int[B * T];
        byte[] mask = new byte[B * T];
        byte[] types = d.types() == null ? null : new byte[B * T];
        for (int i = 0; i < B * T; i++) {
            ids[i] = (int) d.ids()[i];
            labels[i] = (int) d.labels()[i];
            mask[i] = 1;
            if (types != null) {
                types[i] = (byte) d.types()[i];
            }
        }
        byte[] nsp = null;
        if (d.nsp() != null) {
            nsp = new byte[B];
            for (int b = 0; b < B; b++) {
                nsp[b] = (byte) d.nsp()[b];
            }
        }
        return new ShardBatch(B, T, ids, mask, types, labels, nsp);
    }

    /**
     * DJL's stock BERT pretraining block at the same size (its own architecture: BatchNorm, dropout
     * 0.1 everywhere), its stock loss, DJL's Adam through a stock Trainer.
     */
    static final class DjlBert implements Side {
        final Model model;
        final Trainer trainer;
        final NDManager manager;
        final Data[] data = new Data[BATCHES];

        DjlBert(ModelConfig c) {
            BertBlock.Builder builder =
                    BertBlock.builder()
                            .setTokenDictionarySize(V)
                            .optTypeDictionarySize(c.typeVocabSize())
                            .optEmbeddingSize(c.hiddenSize())
                            .optTransformerBlockCount(c.numLayers())
                            .optAttentionHeadCount(c.numHeads())
                            .optHiddenSize(c.intermediateSize())
                            .optHiddenDropoutProbability((float) c.dropout())
                            .optMaxSequenceLength(T);
            model = Model.newInstance("djl-bert", Devices.forTask(null), Devices.ENGINE);
            model.setBlock(new BertPretrainingBlock(builder));
            DefaultTrainingConfig config =
                    new DefaultTrainingConfig(new BertPretrainingLoss())
                            .optOptimizer(
                                    Optimizer.adam()
                                            .optLearningRateTracker(Tracker.fixed(1e-4f))
                                            .build());
            trainer = model.newTrainer(config);
            // DJL's initializers draw from the engine's generator: seeded, every run starts alike.
            model.getNDManager().getEngine().setRandomSeed(7);
            trainer.initialize(
                    new Shape(B, T), new Shape(B, T), new Shape(B, T), new Shape(B, PREDICTIONS));
            manager = model.getNDManager();
            for (int i = 0; i < BATCHES; i++) {
                data[i] = batch(100 + i);
            }
        }

        @Override
        public void step(int step) {
            Data d = data[step % BATCHES];
            try (NDManager m = manager.newSubManager();
                    Batch batch =
                            new Batch(
                                    m,
                                    inputs(m, d),
                                    labels(m, d),
                                    B,
                                    Batchifier.STACK,
                                    Batchifier.STACK,
                                    0,
                                    1)) {
                EasyTrain.trainBatch(trainer, batch);
                trainer.step();
            }
        }

        static NDList inputs(NDManager m, Data d) {
            return new NDList(
                    m.create(d.ids(), new Shape(B, T)),
                    m.create(d.types(), new Shape(B, T)),
                    m.ones(new Shape(B, T)),
                    m.create(d.positions(), new Shape(B, PREDICTIONS)));
        }

        static NDList labels(NDManager m, Data d) {
            return new NDList(
                    m.create(d.nsp(), new Shape(B)),
                    m.create(d.targets(), new Shape(B, PREDICTIONS)),
                    m.ones(new Shape(B, PREDICTIONS)));
        }

        @Override
        public float loss() {
            try (NDManager m = manager.newSubManager()) {
                NDList predictions = trainer.evaluate(inputs(m, data[0]));
                return trainer.getLoss().evaluate(labels(m, data[0]), predictions).getFloat();
            }
        }

        @Override
        public void close() {
            trainer.close();
            model.close();
        }
    }
}
