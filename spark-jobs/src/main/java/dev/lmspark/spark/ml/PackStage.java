package dev.lmspark.spark.ml;

import dev.lmspark.data.BadInputException;
import dev.lmspark.data.collate.CausalPacking;
import dev.lmspark.data.collate.Segment;
import dev.lmspark.data.collate.SentencePacking;
import dev.lmspark.data.tokenizer.SpecialTokenIds;
import dev.lmspark.spark.data.DatasetColumns;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.ml.param.IntParam;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.util.DefaultParamsReader;
import org.apache.spark.ml.util.Identifiable;
import org.apache.spark.ml.util.MLReader;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.storage.StorageLevel;
import scala.Tuple2;
import scala.Tuple3;

/**
 * Packs tokenized documents into sequences of at most {@code maxLength} tokens:
 *
 * <ul>
 *   <li>{@code sentences} (MLM without NSP): whole sentences of a document per {@code [CLS] …
 *       [SEP]} sequence ({@link SentencePacking});
 *   <li>{@code causal}: the documents of a split, each followed by EOS, end to end in {@code
 *       doc_id} order, cut into windows ({@link CausalPacking}); the window index is the sequence's
 *       {@code seq}, its first document its {@code doc_id};
 *   <li>{@code documents} (causal, no packing): each document and its EOS on their own, in as many
 *       windows as it needs.
 * </ul>
 *
 * Input: {@code split}, {@code doc_id} and the tokens column (sentence arrays for {@code
 * sentences}). Output: sequence rows.
 */
public final class PackStage extends LmStage
        implements SharedParams.HasInputCol, SharedParams.HasMaxLength {
    private static final long serialVersionUID = 1L;

    private final Param<String> inputCol = new Param<>(this, "inputCol", "tokens column");
    private final Param<String> mode =
            new Param<>(
                    this,
                    "mode",
                    "sentences, causal or documents",
                    (String m) -> List.of("sentences", "causal", "documents").contains(m));
    private final IntParam maxLength = intParam(this, "maxLength", "sequence length", 3);

    public PackStage(String uid) {
        super(uid);
        setDefault(inputCol, "tokens");
        setDefault(mode, "causal");
        setDefault(maxLength, 128);
    }

    public PackStage() {
        this(Identifiable.randomUID("lmspark_pack"));
    }

    public PackStage setTokenizer(String p) {
        set(tokenizer, p);
        return this;
    }

    public PackStage setInputCol(String c) {
        set(inputCol, c);
        return this;
    }

    public PackStage setMode(String m) {
        set(mode, m);
        return this;
    }

    public PackStage setMaxLength(int n) {
        set(maxLength, n);
        return this;
    }

    public Param<String> inputCol() {
        return inputCol;
    }

    public Param<String> mode() {
        return mode;
    }

    public IntParam maxLength() {
        return maxLength;
    }

    /** The {@code mode} param's value. */
    public String getMode() {
        return getOrDefault(mode);
    }

    @Override
    public StructType transformSchema(StructType schema) {
        String name = getClass().getSimpleName();
        require(schema, Sequences.SPLIT, DataTypes.StringType, name);
        require(schema, DatasetColumns.DOC_ID, DataTypes.LongType, name);
        var ids = DataTypes.createArrayType(DataTypes.IntegerType, false);
        require(
                schema,
                getInputCol(),
                getMode().equals("sentences") ? DataTypes.createArrayType(ids, false) : ids,
                name);
        return Sequences.SCHEMA;
    }

    @Override
    public Dataset<Row> transform(Dataset<?> dataset) {
        transformSchema(dataset.schema());
        SpecialTokenIds specials = tokenizerSource(dataset.sparkSession()).tokenizer().specials();
        StructType schema = dataset.schema();
        int splitAt = schema.fieldIndex(Sequences.SPLIT);
        int docAt = schema.fieldIndex(DatasetColumns.DOC_ID);
        int idsAt = schema.fieldIndex(getInputCol());
        int startsAt = schema.fieldIndex(getInputCol() + "_word_start");
        int window = getMaxLength();
        JavaRDD<Row> rows = dataset.toDF().javaRDD();
        JavaRDD<Row> out;
        switch (getMode()) {
            case "sentences" -> {
                if (specials.cls() == null || specials.sep() == null) {
                    throw new BadInputException("MLM needs a tokenizer with [CLS] and [SEP]");
                }
                int cls = specials.cls();
                int sep = specials.sep();
                out =
                        rows.flatMap(
                                r -> {
                                    int[][] ids = Sequences.intArrays(r, idsAt);
                                    boolean[][] starts = Sequences.booleanArrays(r, startsAt);
                                    List<Segment> sentences = new ArrayList<>();
                                    for (int i = 0; i < ids.length; i++) {
                                        sentences.add(new Segment(ids[i], starts[i]));
                                    }
                                    List<Row> seqs = new ArrayList<>();
                                    List<Segment> chunks =
                                            SentencePacking.pack(sentences, window - 2).chunks();
                                    for (int k = 0; k < chunks.size(); k++) {
                                        Segment s =
                                                Segment.concat(
                                                        Segment.specials(cls),
                                                        chunks.get(k),
                                                        Segment.specials(sep));
                                        seqs.add(
                                                Sequences.row(
                                                        r.getString(splitAt),
                                                        r.getLong(docAt),
                                                        k,
                                                        s,
                                                        new byte[s.length()],
                                                        null));
                                    }
                                    return seqs.iterator();
                                });
            }
            case "documents" -> {
                int eos = eos(specials);
                out =
                        rows.flatMap(
                                r -> {
                                    List<Row> seqs = new ArrayList<>();
                                    List<int[]> windows =
                                            CausalPacking.split(
                                                    withEos(Sequences.ints(r, idsAt), eos), window);
                                    for (int k = 0; k < windows.size(); k++) {
                                        seqs.add(
                                                Sequences.row(
                                                        r.getString(splitAt),
                                                        r.getLong(docAt),
                                                        k,
                                                        windows.get(k),
                                                        null,
                                                        null,
                                                        null));
                                    }
                                    return seqs.iterator();
                                });
            }
            default -> out = causal(rows, splitAt, docAt, idsAt, eos(specials), window);
        }
        return dataset.sparkSession().createDataFrame(out, Sequences.SCHEMA);
    }

    private static int eos(SpecialTokenIds specials) {
        if (specials.eos() == null) {
            throw new BadInputException(
                    "causal LM needs a tokenizer with an EOS token (<|endoftext|>, or [SEP] for WordPiece)");
        }
        return specials.eos();
    }

    static int[] withEos(int[] ids, int eos) {
        int[] out = Arrays.copyOf(ids, ids.length + 1);
        out[ids.length] = eos;
        return out;
    }

    /** Documents end to end per split in doc_id order, cut into windows. */
    private static JavaRDD<Row> causal(
            JavaRDD<Row> rows, int splitAt, int docAt, int idsAt, int eos, int window) {
        JavaPairRDD<Tuple2<Long, Long>, Tuple3<String, Long, int[]>> sorted =
                rows.mapToPair(
                                r -> {
                                    String split = r.getString(splitAt);
                                    long doc = r.getLong(docAt);
                                    return new Tuple2<>(
                                            new Tuple2<>(Sequences.splitCode(split), doc),
                                            new Tuple3<>(
                                                    split,
                                                    doc,
                                                    withEos(Sequences.ints(r, idsAt), eos)));
                                })
                        .sortByKey(new SplitDocOrder(), true)
                        .persist(StorageLevel.MEMORY_AND_DISK());
        // Tokens per (partition, split), then each partition's starting offset within each split.
        List<Tuple3<Integer, String, Long>> totals =
                sorted.values()
                        .mapPartitionsWithIndex(
                                (index, it) -> {
                                    Map<String, Long> sums = new HashMap<>();
                                    while (it.hasNext()) {
                                        var d = it.next();
                                        sums.merge(d._1(), (long) d._3().length, Long::sum);
                                    }
                                    List<Tuple3<Integer, String, Long>> out = new ArrayList<>();
                                    sums.forEach(
                                            (split, n) -> out.add(new Tuple3<>(index, split, n)));
                                    return out.iterator();
                                },
                                true)
                        .collect();
        Map<Integer, Map<String, Long>> starts = new HashMap<>();
        Map<String, Long> running = new HashMap<>();
        totals.stream()
                .sorted((a, b) -> Integer.compare(a._1(), b._1()))
                .forEach(
                        t -> {
                            starts.computeIfAbsent(t._1(), k -> new HashMap<>())
                                    .put(t._2(), running.getOrDefault(t._2(), 0L));
                            running.merge(t._2(), t._3(), Long::sum);
                        });
        return sorted.values()
                .mapPartitionsWithIndex(
                        (index, it) -> {
                            Map<String, Long> offsets =
                                    new HashMap<>(starts.getOrDefault(index, Map.of()));
                            List<Tuple2<Tuple2<String, Long>, CausalPacking.Piece>> out =
                                    new ArrayList<>();
                            while (it.hasNext()) {
                                var d = it.next();
                                long offset = offsets.getOrDefault(d._1(), 0L);
                                for (CausalPacking.Piece p :
                                        CausalPacking.pieces(offset, d._3(), d._2(), window)) {
                                    out.add(new Tuple2<>(new Tuple2<>(d._1(), p.window()), p));
                                }
                                offsets.put(d._1(), offset + d._3().length);
                            }
                            return out.iterator();
                        },
                        true)
                .mapToPair(t -> t)
                .groupByKey()
                .map(
                        t -> {
                            List<CausalPacking.Piece> pieces = new ArrayList<>();
                            t._2().forEach(pieces::add);
                            CausalPacking.Window w = CausalPacking.assemble(pieces);
                            return Sequences.row(
                                    t._1()._1(),
                                    w.firstDocId(),
                                    t._1()._2(),
                                    w.ids(),
                                    null,
                                    null,
                                    null);
                        });
    }

    /** Orders (split code, doc_id) keys. */
    static final class SplitDocOrder
            implements java.util.Comparator<Tuple2<Long, Long>>, java.io.Serializable {
        @Override
        public int compare(Tuple2<Long, Long> a, Tuple2<Long, Long> b) {
            int c = Long.compare(a._1(), b._1());
            return c != 0 ? c : Long.compare(a._2(), b._2());
        }
    }

    public static MLReader<PackStage> read() {
        return new DefaultParamsReader<>();
    }
}
